using System.Diagnostics;

namespace LeaseService.Core.Internal;

/// <summary>The links one <see cref="OpenFileIndex"/> keeps inside a <see cref="FileEntry"/>.</summary>
internal struct TreapLinks
{
    public FileEntry? Left;
    public FileEntry? Right;
    public uint Priority;
    public bool Linked;
}

/// <summary>
/// Open files ordered by path (ordinal), for stable paging and prefix listing: a treap whose links
/// live in <see cref="FileEntry"/>, so an entry costs no extra object. Two instances kinds exist:
/// the service-wide index of open files and one per lease (a holder's files), each with its own
/// links in the entry. Insert and remove are O(log n) expected; a page from a cursor is
/// O(log n + page).
/// </summary>
internal sealed class OpenFileIndex(bool perHolder)
{
    private FileEntry? _root;
    private uint _random = 2463534242;

    public int Count { get; private set; }

    /// <summary>Some file of the index (the root), or null when empty: O(1).</summary>
    public FileEntry? Any => _root;

    public void Add(FileEntry file)
    {
        ref var links = ref Links(file);
        Debug.Assert(!links.Linked, "File is already indexed.");
        links.Priority = NextRandom();
        links.Linked = true;
        _root = Insert(_root, file);
        Count++;
    }

    public void Remove(FileEntry file)
    {
        Debug.Assert(Links(file).Linked, "File is not indexed.");
        _root = Delete(_root, file);
        ref var links = ref Links(file);
        links = default;
        Count--;
    }

    /// <summary>
    /// Appends to <paramref name="into"/>, in path order, up to <paramref name="max"/> files whose
    /// path is greater than <paramref name="after"/> (or any, when null) and starts with
    /// <paramref name="prefix"/>.
    /// </summary>
    public void Collect(string? after, string prefix, int max, List<FileEntry> into)
    {
        // Lower bound: the larger of the cursor (exclusive) and the prefix (inclusive).
        var bound = prefix;
        var inclusive = true;
        if (after is not null && string.CompareOrdinal(after, prefix) >= 0)
        {
            bound = after;
            inclusive = false;
        }

        var stack = new Stack<FileEntry>();
        var node = _root;
        while (node is not null)
        {
            var cmp = string.CompareOrdinal(node.Path, bound);
            if (cmp > 0 || (cmp == 0 && inclusive))
            {
                stack.Push(node);
                node = Links(node).Left;
            }
            else
            {
                node = Links(node).Right;
            }
        }

        while (stack.Count > 0 && into.Count < max)
        {
            var current = stack.Pop();
            if (!current.Path.StartsWith(prefix, StringComparison.Ordinal))
            {
                return; // Past the prefix range: everything later sorts after it too.
            }

            into.Add(current);
            node = Links(current).Right;
            while (node is not null)
            {
                stack.Push(node);
                node = Links(node).Left;
            }
        }
    }

    private ref TreapLinks Links(FileEntry file) => ref perHolder ? ref file.HolderLinks : ref file.OpenLinks;

    private FileEntry Insert(FileEntry? root, FileEntry file)
    {
        if (root is null)
        {
            return file;
        }

        ref var r = ref Links(root);
        if (string.CompareOrdinal(file.Path, root.Path) < 0)
        {
            r.Left = Insert(r.Left, file);
            ref var left = ref Links(r.Left);
            if (left.Priority > r.Priority)
            {
                var child = r.Left;
                r.Left = left.Right;
                left.Right = root;
                return child;
            }
        }
        else
        {
            r.Right = Insert(r.Right, file);
            ref var right = ref Links(r.Right);
            if (right.Priority > r.Priority)
            {
                var child = r.Right;
                r.Right = right.Left;
                right.Left = root;
                return child;
            }
        }

        return root;
    }

    private FileEntry? Delete(FileEntry? root, FileEntry file)
    {
        if (root is null)
        {
            return null;
        }

        ref var r = ref Links(root);
        if (ReferenceEquals(root, file))
        {
            return Merge(r.Left, r.Right);
        }

        if (string.CompareOrdinal(file.Path, root.Path) < 0)
        {
            r.Left = Delete(r.Left, file);
        }
        else
        {
            r.Right = Delete(r.Right, file);
        }

        return root;
    }

    private FileEntry? Merge(FileEntry? left, FileEntry? right)
    {
        if (left is null)
        {
            return right;
        }

        if (right is null)
        {
            return left;
        }

        ref var l = ref Links(left);
        ref var r = ref Links(right);
        if (l.Priority > r.Priority)
        {
            l.Right = Merge(l.Right, right);
            return left;
        }

        r.Left = Merge(left, r.Left);
        return right;
    }

    private uint NextRandom()
    {
        // xorshift32: deterministic, cheap, good enough for treap priorities.
        var x = _random;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        _random = x;
        return x;
    }
}
