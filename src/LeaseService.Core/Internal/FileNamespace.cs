using System.Diagnostics;

namespace LeaseService.Core.Internal;

/// <summary>
/// The namespace and the block map: every file (open or closed) by path, every block by id, and
/// the path-ordered index of open files. Shares the manager's lock; every member assumes it is
/// held. Each file's whole state (blocks included) is one record in the store.
/// </summary>
internal sealed class FileNamespace(Lock gate)
{
    private readonly Dictionary<string, FileEntry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<long, BlockEntry> _blocks = [];
    private readonly OpenFileIndex _open = new(perHolder: false);

    public int FileCount => _files.Count;

    public int OpenCount => _open.Count;

    public bool TryGetFile(string path, out FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        return _files.TryGetValue(path, out file!);
    }

    public void Add(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        _files.Add(file.Path, file);
    }

    public bool TryGetBlock(long id, out BlockEntry block)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        return _blocks.TryGetValue(id, out block!);
    }

    /// <summary>Appends <paramref name="block"/> to its file and maps its id.</summary>
    public void AppendBlock(BlockEntry block)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        (block.File.Blocks ??= []).Add(block);
        _blocks.Add(block.Id, block);
    }

    /// <summary>Removes <paramref name="block"/> from its file and the map (recovery dropped or deleted it).</summary>
    public void RemoveBlock(BlockEntry block)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        block.File.Blocks!.Remove(block);
        _blocks.Remove(block.Id);
    }

    /// <summary>The file is now under construction: it joins the open-file index.</summary>
    public void MarkOpen(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        _open.Add(file);
    }

    public void MarkClosed(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        _open.Remove(file);
    }

    /// <summary>Open files in path order after <paramref name="after"/> with <paramref name="prefix"/>: O(log n + max).</summary>
    public void CollectOpen(string? after, string prefix, int max, List<FileEntry> into)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        _open.Collect(after, prefix, max, into);
    }
}
