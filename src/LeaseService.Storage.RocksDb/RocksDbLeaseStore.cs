using System.Runtime.CompilerServices;
using System.Text;
using LeaseService.Core.Storage;
using RocksDbSharp;

namespace LeaseService.Storage.RocksDb;

/// <summary>
/// The embedded RocksDB engine: one database in a directory, every batch one synced
/// <see cref="WriteBatch"/> (atomic, and durable when it returns). Keys are the UTF-8 bytes of the
/// core's keys, in RocksDB's bytewise order (code point order).
/// </summary>
/// <remarks>
/// Memory is bounded (docs/OPERATIONS.md, "Memory"): at most two memtables of
/// <see cref="WriteBufferBytes"/> (RocksDB's default is 64 MiB each, which would hold most of a
/// million-file fill in RSS), and one LRU block cache of <see cref="BlockCacheBytes"/> that also
/// holds the index and bloom-filter blocks (the filter makes a point read of a path that does not
/// exist, which every AddLease of a new path does, cost no data-block read).
/// </remarks>
public sealed class RocksDbLeaseStore : ILeaseStore
{
    /// <summary>Bytes of one memtable: 16 MiB (at most two, one being flushed).</summary>
    public const ulong WriteBufferBytes = 16UL * 1024 * 1024;

    /// <summary>Bytes of the block cache (data, index and filter blocks): 16 MiB.</summary>
    public const ulong BlockCacheBytes = 16UL * 1024 * 1024;

    private readonly RocksDbSharp.RocksDb _db;
    private readonly WriteOptions _sync = new WriteOptions().SetSync(true);
    private readonly ReadOptions _verified = new ReadOptions().SetVerifyChecksums(true);
    private int _disposed;

    private RocksDbLeaseStore(RocksDbSharp.RocksDb db, string path)
    {
        _db = db;
        Path = path;
    }

    /// <summary>The absolute path of the data directory.</summary>
    public string Path { get; }

    /// <inheritdoc/>
    public string Description => $"RocksDb at {Path}";

    /// <summary>
    /// Opens (creating when missing) the database in <paramref name="path"/>. Throws
    /// <see cref="LeaseStoreException"/> naming the path and the reason when it cannot: the path is
    /// a file, the directory is not writable, the database is corrupt or locked by another process.
    /// </summary>
    public static RocksDbLeaseStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
        {
            throw new LeaseStoreException($"cannot open the store at {full}: it is a file, not a directory");
        }

        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LeaseStoreException($"cannot open the store at {full}: {ex.Message}", ex);
        }

        // RocksDB creates a new, empty database wherever CURRENT (the name of the live manifest) is
        // missing, even beside the tables and logs of an existing one: the first open refuses only
        // while a write-ahead log is there, and leaves a new CURRENT behind, so the next start (a
        // restart policy) served an empty store and reissued fencing tokens. Create one only in a
        // directory that holds no RocksDB data.
        var create = !File.Exists(System.IO.Path.Combine(full, "CURRENT"));
        if (create && FindData(full) is { } data)
        {
            throw new LeaseStoreException(
                $"cannot open the store at {full}: it holds RocksDB data ({data}) but no CURRENT file, which names the live MANIFEST-* file; "
                + "refusing to start over it as a new, empty store. Put CURRENT back (one line: the newest MANIFEST-* file's name)");
        }

        var options = new DbOptions()
            .SetCreateIfMissing(create)
            .SetParanoidChecks(true)
            // RocksDB's default (point in time) stops replaying the write-ahead log at the first bad
            // record and opens as if the history ended there: acknowledged grants gone, the
            // counters rolled back, fencing tokens handed out again. Only a torn last record is
            // tolerated (a batch cut by a crash mid-write: never acknowledged, as every batch is
            // synced before its callers are answered); corruption anywhere else refuses to open.
            .SetWalRecoveryMode(Recovery.TolerateCorruptedTailRecords)
            .SetWriteBufferSize(WriteBufferBytes)
            .SetMaxWriteBufferNumber(2)
            .SetBlockBasedTableFactory(new BlockBasedTableOptions()
                .SetBlockCache(Cache.CreateLru(BlockCacheBytes))
                .SetCacheIndexAndFilterBlocks(true)
                .SetPinL0FilterAndIndexBlocksInCache(true)
                .SetFilterPolicy(BloomFilterPolicy.Create(10, false)));

        // Writes since the last flush live only in the write-ahead logs (the *.log files, easy to
        // take for logs to clean up or to leave out of a backup). Without them RocksDB opened what
        // the tables held, an older history (or an empty store): acknowledged grants gone, counters
        // rolled back. Each log now names its predecessor, and a store whose logs are missing, or
        // have a hole, refuses to open (RocksDB marks the option experimental; our tests pin it).
        Native.Instance.rocksdb_options_set_track_and_verify_wals(options.Handle, 1);
        try
        {
            return new RocksDbLeaseStore(RocksDbSharp.RocksDb.Open(options, full), full);
        }
        catch (RocksDbException ex)
        {
            throw new LeaseStoreException($"cannot open the store at {full}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The name of a file that holds RocksDB data in <paramref name="directory"/> (a table or a
    /// write-ahead log), or null. Other files (a manifest alone, left by a first open cut short,
    /// names no data; RocksDB's info logs; the simulated DataNodes' directory; a volume's
    /// lost+found) do not count.
    /// </summary>
    private static string? FindData(string directory)
    {
        try
        {
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                var name = System.IO.Path.GetFileName(file);
                var stem = System.IO.Path.GetFileNameWithoutExtension(name);
                var numbered = stem.Length > 0 && stem.All(char.IsAsciiDigit);
                if (numbered && System.IO.Path.GetExtension(name) is ".sst" or ".ldb" or ".log" or ".blob")
                {
                    return name;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LeaseStoreException($"cannot open the store at {directory}: {ex.Message}", ex);
        }

        return null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<StoreEntry> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        var readOptions = new ReadOptions().SetVerifyChecksums(true);
        using var iterator = _db.NewIterator(readOptions: readOptions);
        iterator.SeekToFirst();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            StoreEntry entry;
            try
            {
                if (!iterator.Valid())
                {
                    // Valid() is also false on a read error: tell the two apart, never load half a store.
                    Native.Instance.rocksdb_iter_get_error(iterator.Handle, out var error);
                    if (error != IntPtr.Zero)
                    {
                        throw new RocksDbException(error);
                    }

                    break;
                }

                entry = new StoreEntry(Encoding.UTF8.GetString(iterator.Key()), iterator.Value());
                iterator.Next();
            }
            catch (RocksDbException ex)
            {
                throw new LeaseStoreException($"cannot read the store at {Path}: {ex.Message}", ex);
            }

            yield return entry;
        }
    }

    /// <inheritdoc/>
    public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            // A point lookup (memtable, then the block cache or one block read): synchronous, as
            // the caller awaits it outside the manager's lock.
            return ValueTask.FromResult<byte[]?>(_db.Get(Encoding.UTF8.GetBytes(key), readOptions: _verified));
        }
        catch (RocksDbException ex)
        {
            throw new LeaseStoreException($"cannot read {key} from the store at {Path}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var writeBatch = new WriteBatch();
        foreach (var write in batch)
        {
            var key = Encoding.UTF8.GetBytes(write.Key);
            if (write.Value is null)
            {
                writeBatch.Delete(key);
            }
            else
            {
                writeBatch.Put(key, write.Value);
            }
        }

        // Synchronous on purpose: the group-commit writer is one thread that waits for the fsync.
        _db.Write(writeBatch, _sync);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _db.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
