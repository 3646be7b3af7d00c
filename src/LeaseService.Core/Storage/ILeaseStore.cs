namespace LeaseService.Core.Storage;

/// <summary>
/// Where the lease manager keeps its state durably: a key-value store with ordered, atomic,
/// durable batches. The manager owns the schema (keys and record encoding, see
/// docs/SEMANTICS.md "Persistence"); an engine only stores bytes under string keys. Engines:
/// <see cref="InMemoryLeaseStore"/>, RocksDB (<c>LeaseService.Storage.RocksDb</c>), etcd
/// (<c>LeaseService.Storage.Etcd</c>).
/// </summary>
/// <remarks>
/// Every record is a full state record (the whole file, the whole counters), so writing one
/// twice, or replaying a batch, is harmless. Batches are written by one writer at a time, in
/// order; an engine need not be thread-safe for concurrent writes.
/// </remarks>
public interface ILeaseStore : IAsyncDisposable
{
    /// <summary>For people: the engine and where its data lives, e.g. "RocksDb at /var/lib/x".</summary>
    string Description { get; }

    /// <summary>
    /// Every record, in the engine's key order (RocksDB and etcd: the keys' UTF-8 bytes, that is
    /// code point order; InMemory: UTF-16 ordinal, which differs only between supplementary
    /// characters and U+E000–U+FFFF). The manager does not depend on the order. Throws
    /// <see cref="LeaseStoreException"/> when the store cannot be read.
    /// </summary>
    IAsyncEnumerable<StoreEntry> ReadAllAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The value stored under <paramref name="key"/> (exact match), or null when the key is absent.
    /// Sees every batch whose <see cref="WriteAsync"/> has completed (read-your-writes); a batch
    /// still being written may be seen whole or not at all, never in part. Safe to call from any
    /// thread, concurrently with other reads and with the one writer. The returned bytes are the
    /// caller's (the engine does not reuse them). Throws <see cref="LeaseStoreException"/> when the
    /// store cannot be read (an I/O error or a corrupt block), naming the location and the reason.
    /// </summary>
    /// <remarks>
    /// The manager calls it outside its lock, for a file that is not in memory (a closed file, read
    /// on demand), so it should be a point lookup, not a scan.
    /// </remarks>
    ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies <paramref name="batch"/> atomically and in order (a later write of a key wins), and
    /// completes only once it is durable (synced). Throws when it could not confirm that: then the
    /// batch is either not applied at all or (an engine whose write can time out after sending it,
    /// as etcd's) applied whole — never in part (but see <see cref="MaxKeysPerBatch"/>). The
    /// manager assumes neither: its callers get Unavailable, and a restore reloads the state from
    /// what the store holds.
    /// </summary>
    ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default);

    /// <summary>
    /// The most distinct keys one batch can write atomically (etcd: 128 operations per
    /// transaction). The group-commit writer cuts batches between commits to stay within it; a
    /// single commit with more keys is still passed whole, and the engine then writes it in
    /// several steps, in order (each record stays whole). Unlimited by default.
    /// </summary>
    int MaxKeysPerBatch => int.MaxValue;
}

/// <summary>One stored record.</summary>
public readonly record struct StoreEntry(string Key, ReadOnlyMemory<byte> Value);

/// <summary>Put <see cref="Value"/> under <see cref="Key"/>, or delete the key when it is null.</summary>
public readonly record struct StoreWrite(string Key, byte[]? Value);
