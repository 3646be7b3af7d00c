using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace LeaseService.Core.Internal;

/// <summary>
/// Open files ordered by path (UTF-8 bytes, i.e. code point order, as in the store), for stable paging and prefix listing: a treap whose links
/// live in <see cref="FileEntry"/>, so an entry costs no extra object. Two instances kinds exist:
/// the service-wide index of open files and one per lease (a holder's files), each with its own
/// two links in the entry. A node's priority is its identity hash (random per object, stored in
/// the object header), so it costs no field either. Insert and remove are O(log n) expected; a
/// page from a cursor is O(log n + page).
/// </summary>
internal sealed class OpenFileIndex(bool perHolder)
{
    private FileEntry? _root;

    public int Count { get; private set; }

    /// <summary>Some file of the index (the root), or null when empty: O(1).</summary>
    public FileEntry? Any => _root;

    public void Add(FileEntry file)
    {
        Debug.Assert(Left(file) is null && Right(file) is null && !ReferenceEquals(_root, file), "File is already indexed.");
        _root = Insert(_root, file);
        Count++;
    }

    public void Remove(FileEntry file)
    {
        _root = Delete(_root, file);
        SetLeft(file, null);
        SetRight(file, null);
        Count--;
    }

    /// <summary>
    /// Appends to <paramref name="into"/>, in path order, up to <paramref name="max"/> files whose
    /// path is greater than <paramref name="after"/> (or any, when null) and starts with
    /// <paramref name="prefix"/>.
    /// </summary>
    public void Collect(string? after, string prefix, int max, List<FileEntry> into)
    {
        // Lower bound: the larger of the cursor (exclusive) and the prefix (inclusive), in UTF-8
        // byte order (code point order), the order of the index.
        var prefixBytes = Utf8Path.Encode(prefix);
        var bound = prefixBytes;
        var inclusive = true;
        if (after is not null)
        {
            var afterBytes = Utf8Path.Encode(after);
            if (afterBytes.AsSpan().SequenceCompareTo(prefixBytes) >= 0)
            {
                bound = afterBytes;
                inclusive = false;
            }
        }

        var stack = new Stack<FileEntry>();
        var node = _root;
        while (node is not null)
        {
            var cmp = node.PathBytes.SequenceCompareTo(bound);
            if (cmp > 0 || (cmp == 0 && inclusive))
            {
                stack.Push(node);
                node = Left(node);
            }
            else
            {
                node = Right(node);
            }
        }

        while (stack.Count > 0 && into.Count < max)
        {
            var current = stack.Pop();
            if (!current.PathBytes.StartsWith(prefixBytes))
            {
                return; // Past the prefix range: everything later sorts after it too.
            }

            into.Add(current);
            node = Right(current);
            while (node is not null)
            {
                stack.Push(node);
                node = Left(node);
            }
        }
    }

    private static int Priority(FileEntry file) => RuntimeHelpers.GetHashCode(file);

    private FileEntry? Left(FileEntry file) => perHolder ? file.HolderLeft : file.OpenLeft;

    private FileEntry? Right(FileEntry file) => perHolder ? file.HolderRight : file.OpenRight;

    private void SetLeft(FileEntry file, FileEntry? value)
    {
        if (perHolder)
        {
            file.HolderLeft = value;
        }
        else
        {
            file.OpenLeft = value;
        }
    }

    private void SetRight(FileEntry file, FileEntry? value)
    {
        if (perHolder)
        {
            file.HolderRight = value;
        }
        else
        {
            file.OpenRight = value;
        }
    }

    private FileEntry Insert(FileEntry? root, FileEntry file)
    {
        if (root is null)
        {
            return file;
        }

        if (file.PathBytes.SequenceCompareTo(root.PathBytes) < 0)
        {
            var left = Insert(Left(root), file);
            SetLeft(root, left);
            if (Priority(left) > Priority(root))
            {
                SetLeft(root, Right(left));
                SetRight(left, root);
                return left;
            }
        }
        else
        {
            var right = Insert(Right(root), file);
            SetRight(root, right);
            if (Priority(right) > Priority(root))
            {
                SetRight(root, Left(right));
                SetLeft(right, root);
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
            return Merge(Left(root), Right(root));
        }

        if (file.PathBytes.SequenceCompareTo(root.PathBytes) < 0)
        {
            SetLeft(root, Delete(Left(root), file));
        }
        else
        {
            SetRight(root, Delete(Right(root), file));
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

        if (Priority(left) > Priority(right))
        {
            SetRight(left, Merge(Right(left), right));
            return left;
        }

        SetLeft(right, Merge(left, Left(right)));
        return right;
    }
}
