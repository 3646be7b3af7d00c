using System.Diagnostics;

namespace LeaseService.Core.Internal;

/// <summary>
/// Open files ordered by path (ordinal), for stable paging and prefix listing: a treap whose links
/// live in <see cref="FileEntry"/>, so an entry costs no extra object. Insert and remove are
/// O(log n) expected; listing a page from a cursor is O(log n + page).
/// </summary>
internal sealed class OpenFileIndex
{
    private FileEntry? _root;
    private uint _random = 2463534242;

    public int Count { get; private set; }

    public void Add(FileEntry file)
    {
        Debug.Assert(file.Left is null && file.Right is null, "File is already indexed.");
        file.Priority = NextRandom();
        _root = Insert(_root, file);
        Count++;
    }

    public void Remove(FileEntry file)
    {
        var before = Count;
        _root = Delete(_root, file);
        Debug.Assert(Count == before - 1, "File was not indexed.");
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
                node = node.Left;
            }
            else
            {
                node = node.Right;
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
            node = current.Right;
            while (node is not null)
            {
                stack.Push(node);
                node = node.Left;
            }
        }
    }

    private static FileEntry Insert(FileEntry? root, FileEntry file)
    {
        if (root is null)
        {
            return file;
        }

        if (string.CompareOrdinal(file.Path, root.Path) < 0)
        {
            root.Left = Insert(root.Left, file);
            if (root.Left.Priority > root.Priority)
            {
                var left = root.Left;
                root.Left = left.Right;
                left.Right = root;
                return left;
            }
        }
        else
        {
            root.Right = Insert(root.Right, file);
            if (root.Right.Priority > root.Priority)
            {
                var right = root.Right;
                root.Right = right.Left;
                right.Left = root;
                return right;
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

        if (ReferenceEquals(root, file))
        {
            var merged = Merge(root.Left, root.Right);
            root.Left = null;
            root.Right = null;
            Count--;
            return merged;
        }

        if (string.CompareOrdinal(file.Path, root.Path) < 0)
        {
            root.Left = Delete(root.Left, file);
        }
        else
        {
            root.Right = Delete(root.Right, file);
        }

        return root;
    }

    private static FileEntry? Merge(FileEntry? left, FileEntry? right)
    {
        if (left is null)
        {
            return right;
        }

        if (right is null)
        {
            return left;
        }

        if (left.Priority > right.Priority)
        {
            left.Right = Merge(left.Right, right);
            return left;
        }

        right.Left = Merge(left, right.Left);
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
