using System.Diagnostics;
using System.Runtime.CompilerServices;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;
using LeaseService.Shared;

namespace LeaseService.Core;

// Persistence: every locked step ends in SealLocked, which turns the files it changed into
// records and queues them for the group-commit writer; the call answers once they are durable.
public sealed partial class LeaseManager : IStorageHealth
{
    private readonly SemaphoreSlim _restoreGate = new(1, 1);
    private StorageStatus _status;
    private string? _storageFailure;
    private long _sequence;
    private long _persistedStamp;
    private long _persistedBlockId;

    /// <inheritdoc/>
    public StorageStatus StorageStatus => (StorageStatus)Volatile.Read(ref Unsafe.As<StorageStatus, int>(ref _status));

    /// <inheritdoc/>
    public string? StorageFailure => Volatile.Read(ref _storageFailure);

    /// <inheritdoc/>
    public event Action<StorageStatus>? StorageStatusChanged;

    /// <summary>The store this manager persists to.</summary>
    public ILeaseStore Store => _store;

    /// <summary>
    /// Reads the store and installs its state with restart semantics: every open file's lease
    /// counts as renewed now; counters continue above anything stored; recoveries that were in
    /// flight resume with a new recovery id. Until it completes every call answers Unavailable.
    /// Throws <see cref="LeaseStoreException"/> for a store it must not start over (corrupt,
    /// unreadable, a newer format version).
    /// </summary>
    public async Task LoadAsync(CancellationToken cancellationToken = default)
    {
        var replaced = CurrentState();
        var snapshot = await ReadStoreAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot.Fresh)
        {
            try
            {
                await _store.WriteAsync([new StoreWrite(RecordCodec.FormatKey, RecordCodec.EncodeFormat()), new StoreWrite(RecordCodec.CountersKey, RecordCodec.EncodeCounters(0, 0))], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not (LeaseStoreException or OperationCanceledException or OutOfMemoryException))
            {
                // An engine's own exception (RocksDB: a full disk): a store the server cannot
                // start on, said as one, not a crash with a stack trace.
                throw new LeaseStoreException($"{_store.Description}: cannot write the new store's format version: {ex.Message}", ex);
            }
        }

        await InstallAsync(snapshot, TimeSpan.Zero, replaced).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes this manager serve the store's state after it became the store's only writer (a
    /// replica elected active): reads the store, proves it can write with a probe (which also
    /// clears an earlier write failure), then installs the state like a restart, except that every
    /// restored lease counts as renewed at serving start plus <paramref name="grace"/> (the time
    /// writers could not renew while the replicas failed over). False when the probe write fails
    /// (the store refused this writer, or is down), or when <see cref="Deactivate"/> came while it
    /// read; the manager then stays Loading. Throws
    /// <see cref="LeaseStoreException"/> for a store it must not serve (corrupt, newer format).
    /// </summary>
    public async Task<bool> ActivateAsync(TimeSpan grace, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(grace, TimeSpan.Zero);
        await _restoreGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SetStatus(StorageStatus.Loading, null);
            var replaced = CurrentState();

            // Read first: a store of a newer format must be refused before the probe writes ours.
            var snapshot = await ReadStoreAsync(cancellationToken).ConfigureAwait(false);
            List<StoreWrite> probeWrites = [new StoreWrite(RecordCodec.FormatKey, RecordCodec.EncodeFormat())];
            if (snapshot.Fresh)
            {
                probeWrites.Add(new StoreWrite(RecordCodec.CountersKey, RecordCodec.EncodeCounters(0, 0)));
            }

            Commit probe;
            lock (_lock)
            {
                probe = new Commit(probeWrites, ++_sequence, probe: true);
                _writer.Enqueue(probe);
            }

            if (await probe.Durable.ConfigureAwait(false) is { } failure)
            {
                Volatile.Write(ref _storageFailure, failure);
                return false;
            }

            return await InstallAsync(snapshot, grace, replaced).ConfigureAwait(false);
        }
        finally
        {
            _restoreGate.Release();
        }
    }

    /// <summary>
    /// Stops serving and forgets the state (a replica that is no longer the store's writer): every
    /// call answers Unavailable and the monitor finds nothing, until <see cref="ActivateAsync"/>.
    /// Commits still queued fail without being written (their callers get Unavailable): they were
    /// decided on this term's state, and must not reach the store under a later term's guard.
    /// </summary>
    public void Deactivate(string reason)
    {
        bool changed;
        lock (_lock)
        {
            _writer.FenceThrough(_sequence, $"{reason}; not written");
            _namespace = new FileNamespace(_lock);
            _leases = new LeaseTable(_lock);
            _recoveries = new RecoveryQueue(_lock);
            changed = _status != StorageStatus.Loading;
            _status = StorageStatus.Loading;
            _storageFailure = null;
        }

        LogDeactivated(reason);
        if (changed)
        {
            StorageStatusChanged?.Invoke(StorageStatus.Loading);
        }
    }

    /// <summary>Sets the status and raises <see cref="StorageStatusChanged"/> when it changed.</summary>
    private void SetStatus(StorageStatus status, string? failure)
    {
        bool changed;
        lock (_lock)
        {
            changed = _status != status;
            _status = status;
            _storageFailure = failure;
        }

        if (changed)
        {
            StorageStatusChanged?.Invoke(status);
        }
    }

    /// <summary>
    /// After a failed write: probes the store with a write and, when it succeeds, reloads the state
    /// from the store (which lacks every failed batch) with restart semantics and serves again.
    /// False while the store still fails. The host calls it periodically while Failed.
    /// </summary>
    public async Task<bool> TryRestoreStorageAsync(CancellationToken cancellationToken = default)
    {
        await _restoreGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Commit probe;
            FileNamespace replaced;
            lock (_lock)
            {
                if (_status != StorageStatus.Failed)
                {
                    return _status == StorageStatus.Healthy;
                }

                replaced = _namespace;
                probe = new Commit([new StoreWrite(RecordCodec.FormatKey, RecordCodec.EncodeFormat())], ++_sequence, probe: true);
                _writer.Enqueue(probe);
            }

            var failure = await probe.Durable.ConfigureAwait(false);
            if (failure is not null)
            {
                SetFailureIfFailed(failure);
                return false;
            }

            StoreSnapshot snapshot;
            try
            {
                snapshot = await ReadStoreAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (LeaseStoreException ex)
            {
                SetFailureIfFailed(ex.Message);
                return false;
            }

            if (!await InstallAsync(snapshot, TimeSpan.Zero, replaced).ConfigureAwait(false))
            {
                return false; // Deactivated meanwhile: only ActivateAsync serves again.
            }

            LogStorageRestored(snapshot.Total);
            return true;
        }
        finally
        {
            _restoreGate.Release();
        }
    }

    /// <summary>
    /// What a load read from the store: the open files (to be held in memory), the filter of the
    /// closed ones, how many files the store holds, the highest counters anything stored used, the
    /// counters record itself, and whether the store was new (no format version yet).
    /// </summary>
    private sealed record StoreSnapshot(List<StoredFile> OpenFiles, StoredPathFilter StoredPaths, int Total, long Stamp, long BlockId, long RecordStamp, long RecordBlockId, bool Fresh);

    /// <summary>
    /// Reads every record (each one decoded, so a corrupt store is refused at start-up) and keeps
    /// only what must be in memory: the open files and the counters. Closed files stay in the
    /// store and are read when a call needs one.
    /// </summary>
    private async Task<StoreSnapshot> ReadStoreAsync(CancellationToken cancellationToken)
    {
        var files = new List<StoredFile>();
        var closed = new List<ulong>(); // The closed files' path hashes, for the filter of stored paths.
        var total = 0;
        long highestStamp = 0, highestBlockId = 0;
        int? format = null;
        long stamp = 0, blockId = 0;
        var others = 0;
        try
        {
            // The version first: the scan below decodes the other records (which come before it in
            // key order) with this version's codec, and a newer store's would read as corrupt.
            if (await _store.ReadAsync(RecordCodec.FormatKey, cancellationToken).ConfigureAwait(false) is { } version)
            {
                format = RecordCodec.DecodeFormat(version);
                if (format > RecordCodec.FormatVersion)
                {
                    throw new LeaseStoreException($"{_store.Description}: format version {format} is newer than this server's ({RecordCodec.FormatVersion}); use a newer server");
                }
            }

            await foreach (var entry in _store.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (entry.Key == RecordCodec.FormatKey)
                {
                    // Read above.
                }
                else if (entry.Key == RecordCodec.CountersKey)
                {
                    (stamp, blockId) = RecordCodec.DecodeCounters(entry.Value.Span);
                }
                else if (entry.Key.StartsWith(RecordCodec.FilePrefix, StringComparison.Ordinal))
                {
                    var path = entry.Key[RecordCodec.FilePrefix.Length..];
                    if (LeaseValidation.CheckPath(path) is { } invalid)
                    {
                        throw new FormatException($"record {entry.Key}: {invalid}");
                    }

                    var stored = RecordCodec.DecodeFile(path, entry.Value);
                    total++;
                    highestStamp = Math.Max(highestStamp, stored.Epoch);
                    foreach (var block in stored.Blocks)
                    {
                        highestStamp = Math.Max(highestStamp, Math.Max(block.GenerationStamp, block.RecoveryId));
                        highestBlockId = Math.Max(highestBlockId, block.Id);
                    }

                    if (stored.Holder.Length > 0)
                    {
                        files.Add(stored);
                    }
                    else
                    {
                        closed.Add(StoredPathFilter.Hash(path));
                    }
                }
                else
                {
                    others++;
                }
            }
        }
        catch (FormatException ex)
        {
            throw new LeaseStoreException($"{_store.Description}: corrupt record: {ex.Message}", ex);
        }

        if (format is null && (total > 0 || others > 0 || stamp != 0))
        {
            throw new LeaseStoreException($"{_store.Description}: holds data without a format version; not a LeaseService store");
        }

        var blockIds = new HashSet<long>();
        foreach (var file in files)
        {
            foreach (var block in file.Blocks)
            {
                if (!blockIds.Add(block.Id))
                {
                    throw new LeaseStoreException($"{_store.Description}: corrupt: block {block.Id} appears twice (last in {file.Path})");
                }
            }
        }

        if (format is not null && format < 1)
        {
            throw new LeaseStoreException($"{_store.Description}: format version {format} is not valid");
        }

        // The counters record is written with every change that moves them, after the step's files;
        // a write applied in part (etcd: a batch of several transactions that failed after the
        // first) can leave a file above it. A fencing token must never be issued twice, so take
        // the highest of all (and the install writes the counters record up to it).
        // Sized for twice the closed files stored now (room for those closed from here on).
        var storedPaths = new StoredPathFilter((int)Math.Min(Math.Max(2L * closed.Count, StoredPathFilter.DefaultCapacity), int.MaxValue));
        foreach (var hash in closed)
        {
            storedPaths.Add(hash);
        }

        return new StoreSnapshot(files, storedPaths, total, Math.Max(stamp, highestStamp), Math.Max(blockId, highestBlockId), stamp, blockId, Fresh: format is null);
    }

    /// <summary>
    /// Replaces the whole state with <paramref name="snapshot"/> (its open files in memory, its
    /// closed ones in the filter of stored paths), then resumes their recoveries. Every lease counts as renewed now plus
    /// <paramref name="grace"/>. Installs nothing and answers false when the state is no longer
    /// <paramref name="replaced"/>, the one this load began over: a <see cref="Deactivate"/> came
    /// in between (the replica was deposed while it read), and what was read may predate another
    /// replica's writes; it must not be served, nor written back under a later term's guard.
    /// </summary>
    private async Task<bool> InstallAsync(StoreSnapshot snapshot, TimeSpan grace, FileNamespace replaced)
    {
        var effects = new Effects();
        Commit? commit = null;
        var installed = false;
        long stamp = 0, blockId = 0;
        var nodes = _dataNodes.GetDataNodes();
        lock (_lock)
        {
            if (ReferenceEquals(_namespace, replaced))
            {
                installed = true;
                commit = InstallLocked(snapshot, grace, nodes, effects);
                (stamp, blockId) = (_generationStamp, _lastBlockId);
            }
        }

        // The decoded records are consumed: drop them here, since a caller's completed task (and
        // with it this method's hoisted locals) may be kept alive by whoever started the load; a
        // million records are about 300 MB (docs/PERFORMANCE.md).
        var loaded = snapshot.OpenFiles.Count;
        snapshot.OpenFiles.Clear();
        snapshot.OpenFiles.TrimExcess();
        if (!installed)
        {
            return false;
        }

        LogStorageLoaded(_store.Description, snapshot.Total, loaded, stamp, blockId);
        StorageStatusChanged?.Invoke(StorageStatus.Healthy);
        if (commit is not null && await commit.Durable.ConfigureAwait(false) is not null)
        {
            return true; // The writer reported the failure; the next restore resumes them again.
        }

        effects.RunAfter();
        return true;
    }

    /// <summary>The state installs and deactivations replace (a load remembers it, see <see cref="InstallAsync"/>).</summary>
    private FileNamespace CurrentState()
    {
        lock (_lock)
        {
            return _namespace;
        }
    }

    /// <summary>Records why a restore failed, unless the manager left the Failed state meanwhile (deactivated).</summary>
    private void SetFailureIfFailed(string failure)
    {
        lock (_lock)
        {
            if (_status == StorageStatus.Failed)
            {
                _storageFailure = failure;
            }
        }
    }

    /// <summary>The locked part of <see cref="InstallAsync"/>: the new state, and the commit of the resumed recoveries.</summary>
    private Commit? InstallLocked(StoreSnapshot snapshot, TimeSpan grace, IReadOnlyList<DataNodeStatus> nodes, Effects effects)
    {
        var (stamp, blockId) = (snapshot.Stamp, snapshot.BlockId);
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var now = _time.GetTimestamp();
        _namespace = new FileNamespace(_lock, snapshot.StoredPaths);
        _leases = new LeaseTable(_lock) { RenewedFloor = now + ToTimestampUnits(grace) };
        _recoveries = new RecoveryQueue(_lock);
        _namespace.SetStoredCount(snapshot.Total);
        var resume = new List<FileEntry>();
        foreach (var stored in snapshot.OpenFiles)
        {
            var file = new FileEntry(stored.Path) { Epoch = stored.Epoch };
            stamp = Math.Max(stamp, stored.Epoch);
            if (stored.Blocks.Length > 0)
            {
                file.Blocks = new List<BlockEntry>(stored.Blocks.Length);
                foreach (var b in stored.Blocks)
                {
                    var block = new BlockEntry(b.Id, b.GenerationStamp, b.Locations, file) { NumBytes = b.NumBytes, State = b.State, RecoveryId = b.RecoveryId };
                    _namespace.AppendBlock(block);
                    stamp = Math.Max(stamp, Math.Max(b.GenerationStamp, b.RecoveryId));
                    blockId = Math.Max(blockId, b.Id);
                }
            }

            _namespace.Add(file);
            if (stored.Holder.Length > 0)
            {
                // Restart semantics: every restored lease counts as renewed now.
                _namespace.MarkOpen(file);
                // The first record of a holder names its owner; the holder's records all agree.
                var lease = _leases.Attach(file, stored.Holder, now, stored.Owner);

                // One machine string per holder, as Grant shares it: each record decodes its own.
                var other = lease.Files.Any!;
                file.ClientMachine = !ReferenceEquals(other, file) && other.ClientMachine == stored.ClientMachine
                    ? other.ClientMachine
                    : stored.ClientMachine;
                if (stored.RecoveryAttempts >= 0 && file.LastBlock is not null)
                {
                    _recoveries.Restore(file, stored.RecoveryAttempts);
                    resume.Add(file);
                }
            }
        }

        _generationStamp = stamp;
        _lastBlockId = blockId;

        // What the counters record holds: when a file holds more (a write applied in part), the
        // commit below writes the record up to it, before that file can be deleted or rewritten.
        _persistedStamp = snapshot.RecordStamp;
        _persistedBlockId = snapshot.RecordBlockId;

        // Recoveries in flight at the crash resume with a new recovery id (above anything issued).
        foreach (var file in resume)
        {
            StartAttemptLocked(file, file.LastBlock!, now, nodes, effects, byMonitor: false, resumed: true);
        }

        var commit = SealLocked(effects);
        _status = StorageStatus.Healthy;
        _storageFailure = null;
        return commit;
    }

    /// <summary>Null when state-changing calls may run; else why not (Unavailable).</summary>
    private string? BlockedLocked()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        return _status switch
        {
            StorageStatus.Healthy => null,
            StorageStatus.Loading => LoadingRefusal.Message, // Nothing decided yet: the transport marks it safe to repeat.
            _ => $"storage unavailable: {_storageFailure}",
        };
    }

    /// <summary>
    /// Ends a locked step: queues the records of every file it changed (and the counters when
    /// they moved) as one commit, or a barrier when the reply depends on a change not yet
    /// durable. Null when the reply may go at once.
    /// </summary>
    private Commit? SealLocked(Effects effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        _namespace.Retire(_writer.DurableSequence);
        List<StoreWrite>? writes = null;
        if (effects.Changed.Count > 0 || effects.Deleted.Count > 0 || _generationStamp != _persistedStamp || _lastBlockId != _persistedBlockId)
        {
            writes = new List<StoreWrite>(effects.Changed.Count + effects.Deleted.Count + 1);
            foreach (var file in effects.Changed)
            {
                writes.Add(new StoreWrite(RecordCodec.FileKey(file), RecordCodec.EncodeFile(file)));
            }

            foreach (var path in effects.Deleted)
            {
                writes.Add(new StoreWrite(RecordCodec.FileKey(path), null));
            }

            if (_generationStamp != _persistedStamp || _lastBlockId != _persistedBlockId)
            {
                writes.Add(new StoreWrite(RecordCodec.CountersKey, RecordCodec.EncodeCounters(_generationStamp, _lastBlockId)));
                _persistedStamp = _generationStamp;
                _persistedBlockId = _lastBlockId;
            }
        }
        else if (effects.Observed <= _writer.DurableSequence)
        {
            return null;
        }

        var commit = new Commit(writes, ++_sequence);
        foreach (var file in effects.Changed)
        {
            file.PendingSequence = commit.Sequence;
            if (file.Lease is { FirstCommit: 0 } lease)
            {
                lease.FirstCommit = commit.Sequence;
            }

            if (!file.UnderConstruction)
            {
                _namespace.Closed(file, commit.Sequence); // Leaves memory once this commit is durable.
            }
        }

        foreach (var path in effects.Deleted)
        {
            _namespace.Deleted(path, commit.Sequence);
        }

        _writer.Enqueue(commit);
        return commit;
    }

    /// <summary>After the lock: waits until the step is durable, then runs its effects and answers.</summary>
    private static async ValueTask<Outcome<T>> CompleteAsync<T>(Commit commit, Effects effects, Outcome<T> outcome)
    {
        var failure = await commit.Durable.ConfigureAwait(false);
        if (failure is not null)
        {
            return NotDurable<T>(failure);
        }

        effects.RunAfter();
        return outcome;
    }

    /// <summary>The answer of a call whose records the store refused.</summary>
    private static Outcome<T> NotDurable<T>(string failure) => Outcome<T>.Fail(OutcomeKind.Unavailable, $"storage unavailable: {failure}");

    /// <summary>
    /// Answers now when nothing waits for durability, else after it. (WithStoredFileAsync does
    /// the same inline, to save its callers a second state machine; keep the two alike.)
    /// </summary>
    private static ValueTask<Outcome<T>> Complete<T>(Commit? commit, Effects effects, Outcome<T> outcome)
    {
        if (commit is null)
        {
            effects.RunAfter();
            return ValueTask.FromResult(outcome);
        }

        return CompleteAsync(commit, effects, outcome);
    }

    /// <summary>
    /// The writer's failure callback: refuse every call until a restore reloads the state. A
    /// manager not serving (Loading: deactivated, its last commits refused by the store) stays
    /// Loading: it has nothing to restore, and activation probes the store itself.
    /// </summary>
    private void OnStorageFailed(string reason)
    {
        bool changed;
        bool serving;
        lock (_lock)
        {
            changed = _status == StorageStatus.Healthy;
            serving = _status != StorageStatus.Loading;
            if (serving)
            {
                _status = StorageStatus.Failed;
                _storageFailure = reason;
            }
        }

        if (serving)
        {
            LogStorageFailed(reason);
        }
        else
        {
            // A write of a term that ended (deposed while it was at the store): nothing to restore.
            LogWriteFailedAfterDeactivation(reason);
        }

        if (changed)
        {
            StorageStatusChanged?.Invoke(StorageStatus.Failed);
        }
    }

    private void OnBatchWritten(int records, TimeSpan duration)
    {
        Interlocked.Increment(ref _counters.StorageBatches);
        Interlocked.Add(ref _counters.StorageRecords, records);
        _batchDuration?.Record(duration.TotalSeconds);
    }
}
