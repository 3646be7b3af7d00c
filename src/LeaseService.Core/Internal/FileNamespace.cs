using System.Diagnostics;
using LeaseService.Core.Storage;

namespace LeaseService.Core.Internal;

/// <summary>
/// The part of the namespace and block map held in memory: every open file by path, the blocks of
/// the files in memory by id, and the path-ordered index of open files. A closed or deleted file
/// leaves memory once its record is durable (<see cref="Retire"/>): the store has it, and a call
/// that needs it reads it there (<see cref="ResolveLocked"/>). Memory grows with open files, not
/// with every file ever written. Shares the manager's lock; every member assumes it is held. Each
/// file's whole state (blocks included) is one record in the store.
/// </summary>
internal sealed class FileNamespace
{
    // Hash codes of the last paths that left memory, so a read from the store that raced with an
    // eviction of the same path is detected (a false positive only costs a second read).
    private const int EvictionRingSize = 4096;

    // The files in memory, found by path: a set of entries (16 bytes a slot, where a dictionary
    // from path to entry takes 24) looked up by a path string through the alternate comparer.
    private readonly HashSet<FileEntry> _files;
    private readonly HashSet<FileEntry>.AlternateLookup<string> _byPath;
    private readonly Dictionary<long, BlockEntry> _blocks = [];
    private readonly OpenFileIndex _open = new(perHolder: false);

    // Deleted paths whose delete is not durable yet → the commit that deletes them.
    private readonly Dictionary<string, long> _deleting = new(StringComparer.Ordinal);

    // Closed files (the entry: a path string would be decoded from its UTF-8 bytes, one allocation a
    // file, and hashed again) and deleted paths, in commit order, to leave memory once their commit
    // is durable.
    private readonly Queue<(object FileOrPath, long Sequence)> _retiring = new();
    private readonly int[] _evicted = new int[EvictionRingSize];
    private readonly Lock _gate;

    // Every path whose record the store holds while memory does not (closed files that left
    // memory, and those loaded as closed): a path it rules out needs no read.
    private readonly StoredPathFilter _stored;
    private long _evictions;

    /// <param name="gate">The manager's lock.</param>
    /// <param name="stored">The closed files the store held at load (none for a new namespace).</param>
    public FileNamespace(Lock gate, StoredPathFilter? stored = null)
    {
        _gate = gate;
        _stored = stored ?? new StoredPathFilter();
        _files = new HashSet<FileEntry>(FilePathComparer.Instance);
        _byPath = _files.GetAlternateLookup<string>();
    }

    /// <summary>Files that exist, in memory or only in the store.</summary>
    public int FileCount { get; private set; }

    public int OpenCount => _open.Count;

    /// <summary>Files held in memory (open ones, and closed ones whose record is not durable yet).</summary>
    public int InMemoryCount => _files.Count;

    /// <summary>How many paths have left memory so far: a mark for <see cref="ResolveLocked"/>.</summary>
    public long Evictions => _evictions;

    /// <summary>Sets the number of files the store holds (at load).</summary>
    public void SetStoredCount(int count)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        FileCount = count;
    }

    /// <summary>The file when it is in memory (not when only the store has it).</summary>
    public bool TryGetFile(string path, out FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        return _byPath.TryGetValue(path, out file!);
    }

    /// <summary>
    /// True when the store must be read to know <paramref name="path"/>: it is neither in memory
    /// nor being deleted, and the store may hold it (a path never stored needs no read).
    /// </summary>
    public bool NeedsStoreRead(string path)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        return !_byPath.Contains(path) && !_deleting.ContainsKey(path) && _stored.MightContain(path);
    }

    /// <summary>
    /// What is known of <paramref name="path"/> given <paramref name="read"/>, a read of its record
    /// made outside the lock (or none: the store held no record then, see <see cref="NeedsStoreRead"/>).
    /// The file in memory wins; a pending delete means missing; no read means missing unless the
    /// path may have been stored since;
    /// otherwise the read decides, when it is still valid: made after the last time this path left
    /// memory, against this namespace (a read that began before the namespace was replaced, at a
    /// failover or a storage restore, predates everything the new one loaded, so it is read again).
    /// A stored file is brought into memory (closed; it leaves again once unchanged and durable).
    /// Throws <see cref="LeaseStoreException"/>, changing nothing, when that file names a
    /// block another file in memory holds (only a corrupt store does).
    /// </summary>
    public Resolution ResolveLocked(string path, StoreRead? read, out FileEntry? file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (_byPath.TryGetValue(path, out file))
        {
            return Resolution.Found;
        }

        if (_deleting.TryGetValue(path, out _))
        {
            return Resolution.Missing;
        }

        if (read is null)
        {
            // No read was made: the store held no record of the path then. Unless it may now
            // (it left memory meanwhile), it is missing.
            return _stored.MightContain(path) ? Resolution.Stale : Resolution.Missing;
        }

        if (!ReferenceEquals(read.Origin, this) || EvictedSince(read.Mark, path))
        {
            return Resolution.Stale;
        }

        if (read.Stored is not { } stored)
        {
            return Resolution.Missing;
        }

        // The block map must take every block before anything changes: in a corrupt store a closed
        // file may name a block another file in memory holds (the load checks open files only).
        foreach (var b in stored.Blocks)
        {
            if (_blocks.TryGetValue(b.Id, out var other))
            {
                throw new LeaseStoreException(
                    $"corrupt: block {b.Id} of {LeaseValidation.Echo(path)} is also in {LeaseValidation.Echo(other.File.Path)}");
            }
        }

        file = new FileEntry(stored.Path) { Epoch = stored.Epoch };
        _files.Add(file);
        if (stored.Blocks.Length > 0)
        {
            file.Blocks = new List<BlockEntry>(stored.Blocks.Length);
            foreach (var b in stored.Blocks)
            {
                AppendBlock(new BlockEntry(b.Id, b.GenerationStamp, b.Locations, file) { NumBytes = b.NumBytes, State = b.State, RecoveryId = b.RecoveryId });
            }
        }

        _retiring.Enqueue((file, 0)); // Unchanged, it leaves memory again at the next retire.
        return Resolution.Found;
    }

    /// <summary>A new file (not in the store): counted.</summary>
    public void Create(FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _files.Add(file);
        _deleting.Remove(file.Path); // Created again before its delete was durable.
        FileCount++;
    }

    /// <summary>A file read from the store at load (counted by <see cref="SetStoredCount"/>).</summary>
    public void Add(FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _files.Add(file);
    }

    /// <summary>
    /// Removes a closed file and its blocks from the namespace (the caller has detached its lease
    /// and ended its recovery); it reads as missing from now on. The delete's record goes into the
    /// commit <see cref="Deleted"/> names.
    /// </summary>
    public void Delete(FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        Debug.Assert(!file.UnderConstruction, "Close the file before deleting it.");
        if (file.Blocks is { } blocks)
        {
            foreach (var block in blocks)
            {
                _blocks.Remove(block.Id);
            }
        }

        _byPath.Remove(file.Path);
        _deleting[file.Path] = long.MaxValue; // Until Deleted names its commit.
        FileCount--;
    }

    /// <summary>The commit that persists the delete of <paramref name="path"/>.</summary>
    public void Deleted(string path, long sequence)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        if (_deleting.ContainsKey(path))
        {
            _deleting[path] = sequence;
            _retiring.Enqueue((path, sequence));
        }
    }

    /// <summary>The commit (not yet durable) that deletes <paramref name="path"/>, or 0.</summary>
    public long PendingDelete(string path)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        return _deleting.TryGetValue(path, out var sequence) ? sequence : 0;
    }

    /// <summary>A closed file was written by commit <paramref name="sequence"/>: it may leave memory once that is durable.</summary>
    public void Closed(FileEntry file, long sequence)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _retiring.Enqueue((file, sequence));
    }

    /// <summary>
    /// Lets closed files and deletes whose commit is durable (at most <paramref name="durable"/>)
    /// leave memory, oldest first: O(retired).
    /// </summary>
    public void Retire(long durable)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        while (_retiring.TryPeek(out var head) && head.Sequence <= durable)
        {
            _retiring.Dequeue();
            int hash;
            if (head.FileOrPath is FileEntry closed)
            {
                // Only this very entry leaves: it may have been deleted (and the path created
                // again as another entry) since it was queued.
                if (closed.UnderConstruction || closed.PendingSequence > durable || !_files.TryGetValue(closed, out var current) || !ReferenceEquals(current, closed))
                {
                    continue; // Opened again, changed by a later commit (which queued it again), or gone.
                }

                if (closed.Blocks is { } blocks)
                {
                    foreach (var block in blocks)
                    {
                        _blocks.Remove(block.Id);
                    }
                }

                _files.Remove(closed);
                _stored.Add(closed.PathBytes);
                hash = Utf8Path.Hash(closed.PathBytes);
            }
            else
            {
                var path = (string)head.FileOrPath;
                if (!_deleting.TryGetValue(path, out var sequence) || sequence != head.Sequence)
                {
                    continue; // Created and deleted again since: the later delete is queued too.
                }

                _deleting.Remove(path);
                hash = Utf8Path.Hash(path);
            }

            _evicted[(int)(_evictions % EvictionRingSize)] = hash;
            _evictions++;
        }
    }

    public bool TryGetBlock(long id, out BlockEntry block)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        return _blocks.TryGetValue(id, out block!);
    }

    /// <summary>Appends <paramref name="block"/> to its file and maps its id.</summary>
    public void AppendBlock(BlockEntry block)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        (block.File.Blocks ??= []).Add(block);
        _blocks.Add(block.Id, block);
    }

    /// <summary>Removes <paramref name="block"/> from its file and the map (recovery dropped or deleted it).</summary>
    public void RemoveBlock(BlockEntry block)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        block.File.Blocks!.Remove(block);
        _blocks.Remove(block.Id);
    }

    /// <summary>The file is now under construction: it joins the open-file index.</summary>
    public void MarkOpen(FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _open.Add(file);
    }

    public void MarkClosed(FileEntry file)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _open.Remove(file);
    }

    /// <summary>Open files in path order after <paramref name="after"/> with <paramref name="prefix"/>: O(log n + max).</summary>
    public void CollectOpen(string? after, string prefix, int max, List<FileEntry> into)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread);
        _open.Collect(after, prefix, max, into);
    }

    private bool EvictedSince(long mark, string path)
    {
        if (_evictions - mark > EvictionRingSize)
        {
            return true; // More left memory than the ring remembers: read again.
        }

        var hash = Utf8Path.Hash(path);
        for (var i = mark; i < _evictions; i++)
        {
            if (_evicted[(int)(i % EvictionRingSize)] == hash)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Files are equal when their paths are; a path string finds its file (compared as UTF-8).</summary>
internal sealed class FilePathComparer : IEqualityComparer<FileEntry>, IAlternateEqualityComparer<string, FileEntry>
{
    public static readonly FilePathComparer Instance = new();

    public bool Equals(FileEntry? x, FileEntry? y)
        => ReferenceEquals(x, y) || (x is not null && y is not null && x.PathBytes.SequenceEqual(y.PathBytes));

    public int GetHashCode(FileEntry obj) => Utf8Path.Hash(obj.PathBytes);

    public bool Equals(string alternate, FileEntry other) => Utf8Path.Equals(alternate, other.PathBytes);

    public int GetHashCode(string alternate) => Utf8Path.Hash(alternate);

    public FileEntry Create(string alternate) => throw new NotSupportedException("Files are added as entries, never created from a path.");
}

/// <summary>What <see cref="FileNamespace.ResolveLocked"/> found.</summary>
internal enum Resolution
{
    /// <summary>The file exists and is in memory now.</summary>
    Found,

    /// <summary>No such file.</summary>
    Missing,

    /// <summary>The store must be read (again) before this can be answered.</summary>
    Stale,
}

/// <summary>
/// A file's record read from the store outside the lock: <see cref="Stored"/> is null when the
/// store has none; <see cref="Mark"/> is <see cref="Origin"/>'s <see cref="FileNamespace.Evictions"/>
/// before the read.
/// </summary>
internal sealed record StoreRead(FileNamespace Origin, long Mark, Storage.StoredFile? Stored);
