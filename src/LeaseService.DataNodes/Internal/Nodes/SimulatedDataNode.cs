using System.Diagnostics;
using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Logging;
using LeaseService.DataNodes.Internal.Transport;
using Microsoft.Extensions.Logging;

namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>
/// One simulated DataNode: its replicas, whether it runs, and the failures injected into it. It
/// answers HDFS's replica-level recovery calls (FsDatasetImpl.initReplicaRecovery and
/// updateReplicaUnderRecovery) and client writes. Everything it holds is guarded by one lock;
/// nothing under it logs, waits or calls out. With a <see cref="ReplicaDisk"/>, every change to a
/// replica is on that disk before the call that made it returns (written after the lock is
/// released, one writer at a time), and a new node loads what the disk holds.
/// </summary>
internal sealed class SimulatedDataNode
{
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Replica> _replicas = [];

    // Blocks a recovery asked this node about while it had no replica: block id -> highest
    // recovery id. A later write at or below it comes from a writer that recovery fenced.
    private readonly Dictionary<long, long> _recoveredWithoutReplica = [];

    // Block id -> the write stream that holds its replica here (HDFS's one BlockReceiver per
    // replica): from the stream's pipeline setup until it ends. Dropped when the node stops.
    private readonly Dictionary<long, WriteStream> _writers = [];
    private readonly int[] _injectedFailures = new int[Enum.GetValues<RecoveryStep>().Length + 1];
    private readonly ILogger _logger;
    private readonly ReplicaDisk? _disk;

    // Replicas changed in memory and not yet on the disk; guarded by _gate. _diskWriter orders
    // the writes: a flush holds it from taking the images to the last write, so a caller whose
    // change another flush took waits until that flush has written it.
    private readonly HashSet<long> _dirty = [];
    private readonly Lock _diskWriter = new();
    private bool _running = true;
    private long _lastHeartbeat;

    // Test seam for a DataNode that accepts calls and never answers (a hung process, a black-holed
    // network). While set, every call waits on it (only writes of data with _hangDataOnly); the
    // caller's timeout is what ends the wait.
    private TaskCompletionSource? _hang;
    private TaskCompletionSource? _hungCallArrived;
    private bool _hangDataOnly;

    public SimulatedDataNode(string id, ILogger logger, ReplicaDisk? disk = null)
    {
        Id = id;
        _logger = logger;
        _disk = disk;
        if (disk is not null)
        {
            var unreadable = new List<string>();
            foreach (var replica in disk.Load(unreadable))
            {
                _replicas[replica.BlockId] = replica;
            }

            foreach (var file in unreadable)
            {
                DataNodeLog.ReplicaUnreadable(_logger, Id, file);
            }
        }
    }

    public string Id { get; }

    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <summary>The node's heartbeat: "now" while it runs, the moment it stopped otherwise.</summary>
    public DataNodeStatus Status(long now)
    {
        lock (_gate)
        {
            return new DataNodeStatus(Id, _running, _running ? now : _lastHeartbeat);
        }
    }

    public SimulatedDataNodeInfo Info()
    {
        lock (_gate)
        {
            return new SimulatedDataNodeInfo(Id, _running, _replicas.Count, _hang is not null);
        }
    }

    public SimulatedReplica? GetReplica(long blockId)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            return _replicas.TryGetValue(blockId, out var replica) ? replica.Snapshot(Id) : null;
        }
    }

    /// <summary>The simulator's inspection path: works on a stopped node too (its disk is still there).</summary>
    public SimulatedReplica? PeekReplica(long blockId)
    {
        lock (_gate)
        {
            return _replicas.TryGetValue(blockId, out var replica) ? replica.Snapshot(Id) : null;
        }
    }

    public byte[]? PeekReplicaData(long blockId)
    {
        lock (_gate)
        {
            return _replicas.TryGetValue(blockId, out var replica) ? replica.Data.ToArray() : null;
        }
    }

    /// <summary>Test seam: places a replica in any state, as if loaded from disk.</summary>
    public void SeedReplica(long blockId, ReplicaState state, long generationStamp, byte[] data, long recoveryId = 0, ReplicaState originalState = ReplicaState.Rbw)
    {
        lock (_gate)
        {
            _replicas[blockId] = new Replica(blockId, state, generationStamp, data)
            {
                RecoveryId = state == ReplicaState.Rur ? recoveryId : 0,
                OriginalState = state == ReplicaState.Rur ? originalState : state,
            };
            _dirty.Add(blockId);
        }

        Flush();
    }

    /// <summary>Stops the node: every call to it fails fast until it restarts. Idempotent.</summary>
    public void Stop(long now)
    {
        lock (_gate)
        {
            StopLocked(now);
        }
    }

    /// <summary>
    /// Restarts the node (stopping it first if it runs) and reloads its replicas as HDFS does from
    /// disk: RBW replicas come back as RWR (waiting to be recovered), TEMPORARY ones are deleted,
    /// FINALIZED and RWR ones are unchanged. RUR is only an in-memory wrapper in HDFS, so a replica
    /// under recovery loses its recovery id and comes back as what its original state loads as.
    /// </summary>
    public void Restart(long now)
    {
        lock (_gate)
        {
            StopLocked(now);
            var dropped = new List<long>();
            foreach (var replica in _replicas.Values)
            {
                var onDisk = replica.State == ReplicaState.Rur ? replica.OriginalState : replica.State;
                var loaded = onDisk switch
                {
                    ReplicaState.Finalized => ReplicaState.Finalized,
                    ReplicaState.Rbw or ReplicaState.Rwr => ReplicaState.Rwr,
                    _ => ReplicaState.Temporary,
                };
                if (loaded == ReplicaState.Temporary)
                {
                    dropped.Add(replica.BlockId);
                    continue;
                }

                replica.State = loaded;
                replica.OriginalState = loaded;
                replica.RecoveryId = 0;
                _dirty.Add(replica.BlockId);
            }

            foreach (var blockId in dropped)
            {
                _replicas.Remove(blockId);
                _dirty.Add(blockId);
            }

            _running = true;
        }

        Flush();
    }

    public void InjectFailure(RecoveryStep step, int count)
    {
        lock (_gate)
        {
            _injectedFailures[(int)step] = (int)Math.Min(int.MaxValue, (long)_injectedFailures[(int)step] + count); // "Fail for ever" saturates.
        }
    }

    /// <summary>
    /// The primary is about to commit: if a PRIMARY_COMMIT failure is pending, the node dies now
    /// (it stops) and the caller must not commit. Returns whether it died.
    /// </summary>
    public bool TryDieBeforeCommit(long now)
    {
        lock (_gate)
        {
            if (!TryConsumeFailureLocked(RecoveryStep.PrimaryCommit))
            {
                return false;
            }

            StopLocked(now);
            return true;
        }
    }

    /// <summary>
    /// Pipeline setup (HDFS's writeBlock op, before any data flows): would this DataNode accept a
    /// write at <paramref name="generationStamp"/>? When it would, <paramref name="stream"/> holds
    /// the replica until it ends, and null is returned. A replica another stream holds refuses
    /// (<see cref="WriteReplicaStatus.Busy"/>), as HDFS's DataNode refuses a second writer of a
    /// replica (FsDatasetImpl.createRbw: ReplicaAlreadyExistsException): whatever its generation
    /// stamp, since pipeline recovery, whose newer stamp stops the older writer, is not modelled.
    /// A null <paramref name="stream"/> only checks the generation stamp and the replica's state:
    /// a write already refused upstream holds nothing further down.
    /// </summary>
    public WriteReplicaReply? BeginWrite(long blockId, long generationStamp, bool recoverClose, WriteStream? stream)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            if (CheckWriteLocked(blockId, generationStamp, recoverClose) is { } refusal)
            {
                return refusal;
            }

            if (stream is null)
            {
                return null;
            }

            if (_writers.TryGetValue(blockId, out var writer) && writer != stream && !writer.Ended)
            {
                return new WriteReplicaReply(
                    WriteReplicaStatus.Busy,
                    _replicas.TryGetValue(blockId, out var replica) ? replica.Snapshot(Id) : null,
                    $"{Id} refused the write to block {blockId}: another write to the block is in progress here (a DataNode takes one writer per replica); nothing written, retry once it has ended.");
            }

            _writers[blockId] = stream;
            return null;
        }
    }

    /// <summary>The stream's connection closed: the replica no longer has it as its writer.</summary>
    public void EndWrite(long blockId, WriteStream stream)
    {
        lock (_gate)
        {
            if (_writers.TryGetValue(blockId, out var writer) && writer == stream)
            {
                _writers.Remove(blockId);
            }
        }
    }

    /// <summary>
    /// A client write's data on this DataNode: checked again (the replica may have changed since
    /// setup), then a new replica is created RBW, or the existing one appended to, reopened
    /// (FINALIZED, newer stamp: append) or bumped (RBW, newer stamp: pipeline recovery). The data
    /// goes at byte <paramref name="offset"/> of the block, which must be where the replica ends
    /// (HDFS's BlockReceiver checks each packet's offset). Only the stream that holds the replica
    /// since <see cref="BeginWrite"/> writes it. With <paramref name="recoverClose"/> (no data,
    /// finalize, at the offset the writer named) a FINALIZED replica of that length takes it too,
    /// and stays as it is: HDFS's recoverClose, a close repeated after its answer was lost.
    /// </summary>
    public WriteReplicaReply Write(long blockId, long generationStamp, ReadOnlySpan<byte> data, bool finalize, long offset, bool recoverClose, WriteStream stream)
    {
        var reply = WriteInMemory(blockId, generationStamp, data, finalize, offset, recoverClose, stream);
        if (reply.Status == WriteReplicaStatus.Written)
        {
            FlushOrFail();
        }

        return reply;
    }

    private WriteReplicaReply WriteInMemory(long blockId, long generationStamp, ReadOnlySpan<byte> data, bool finalize, long offset, bool recoverClose, WriteStream stream)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            if (CheckWriteLocked(blockId, generationStamp, recoverClose && data.IsEmpty && finalize) is { } refusal)
            {
                return refusal;
            }

            if (!_writers.TryGetValue(blockId, out var writer) || writer != stream)
            {
                // The stream's hold ended with the node's process (a restart since the setup).
                return new WriteReplicaReply(
                    WriteReplicaStatus.NotWritable,
                    _replicas.TryGetValue(blockId, out var held) ? held.Snapshot(Id) : null,
                    $"{Id} refused the write to block {blockId}: it restarted since the pipeline was set up, which ended the write's stream.");
            }

            _replicas.TryGetValue(blockId, out var existing);
            var length = existing?.NumBytes ?? 0;
            if (offset != length)
            {
                // Appending anyway would put these bytes at another offset than on the DataNodes
                // before it: replicas that are no longer prefixes of one another, which no
                // recovery could reconcile. (A write after a broken pipeline, past a DataNode
                // that missed earlier data.)
                return new WriteReplicaReply(
                    WriteReplicaStatus.NotWritable,
                    existing?.Snapshot(Id),
                    $"{Id} refused the write to block {blockId} at byte {offset}: its replica holds {length} bytes (it missed earlier data: the pipeline broke before).");
            }

            if (existing is not { } replica)
            {
                replica = new Replica(blockId, ReplicaState.Rbw, generationStamp, []);
                _replicas.Add(blockId, replica);
            }
            else if (generationStamp > replica.GenerationStamp)
            {
                replica.State = ReplicaState.Rbw;
                replica.OriginalState = ReplicaState.Rbw;
                replica.GenerationStamp = generationStamp;
            }

            replica.Append(data);
            if (finalize)
            {
                replica.State = ReplicaState.Finalized;
                replica.OriginalState = ReplicaState.Finalized;
            }

            _dirty.Add(blockId);
            return new WriteReplicaReply(WriteReplicaStatus.Written, replica.Snapshot(Id), string.Empty);
        }
    }

    private WriteReplicaReply? CheckWriteLocked(long blockId, long generationStamp, bool recoverClose)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The node lock must be held.");
        if (!_replicas.TryGetValue(blockId, out var replica))
        {
            return _recoveredWithoutReplica.TryGetValue(blockId, out var fence) && generationStamp <= fence
                ? new WriteReplicaReply(
                    WriteReplicaStatus.StaleGenerationStamp,
                    null,
                    $"{Id} refused the write to block {blockId} at generation stamp {generationStamp}: recovery {fence} found no replica here, so the writer is fenced.")
                : null;
        }

        if (replica.State == ReplicaState.Rur)
        {
            // initReplicaRecovery stopped the writer; the recovery id is the generation stamp the
            // block will take, so a writer below it is fenced.
            return generationStamp <= replica.RecoveryId
                ? Refused(WriteReplicaStatus.StaleGenerationStamp, $"the replica is under recovery {replica.RecoveryId}; generation stamp {generationStamp} is fenced")
                : Refused(WriteReplicaStatus.NotWritable, $"the replica is under recovery {replica.RecoveryId}");
        }

        if (generationStamp < replica.GenerationStamp)
        {
            return Refused(WriteReplicaStatus.StaleGenerationStamp, $"generation stamp {generationStamp} is older than the replica's {replica.GenerationStamp}");
        }

        // At the same stamp only an RBW replica takes more data; a FINALIZED one takes a repeated
        // close that names the length it expects (no data, at its offset, which the write checks),
        // as HDFS's recoverClose accepts a replica already finalized at the expected length. A newer stamp from the
        // NameNode reopens a FINALIZED replica (append) or bumps an RBW one (pipeline recovery);
        // an RWR or TEMPORARY replica is in no pipeline.
        var writable = generationStamp == replica.GenerationStamp
            ? replica.State == ReplicaState.Rbw || (recoverClose && replica.State == ReplicaState.Finalized)
            : replica.State is ReplicaState.Rbw or ReplicaState.Finalized;
        return writable ? null : Refused(WriteReplicaStatus.NotWritable, $"the replica is {StateName(replica.State)} at generation stamp {replica.GenerationStamp}");

        WriteReplicaReply Refused(WriteReplicaStatus status, string reason) =>
            new(status, replica.Snapshot(Id), $"{Id} refused the write to block {blockId} at generation stamp {generationStamp}: {reason}.");
    }

    /// <summary>FsDatasetImpl.initReplicaRecovery: takes the replica over for <paramref name="recoveryId"/>.</summary>
    public InitReplicaRecoveryReply InitReplicaRecovery(long blockId, long blockGenerationStamp, long recoveryId)
    {
        InitReplicaRecoveryReply reply;
        long raisedFrom = 0;
        lock (_gate)
        {
            ThrowIfStopped();
            if (TryConsumeFailureLocked(RecoveryStep.InitReplicaRecovery))
            {
                return InitReplicaRecoveryReply.Failed($"{Id}: injected failure in initReplicaRecovery of block {blockId}.");
            }

            if (!_replicas.TryGetValue(blockId, out var replica))
            {
                _recoveredWithoutReplica[blockId] = Math.Max(recoveryId, _recoveredWithoutReplica.GetValueOrDefault(blockId));
                return InitReplicaRecoveryReply.NoReplica(Id, blockId);
            }

            if (replica.GenerationStamp < blockGenerationStamp)
            {
                return InitReplicaRecoveryReply.Failed(
                    $"{Id}: replica generation stamp {replica.GenerationStamp} < block generation stamp {blockGenerationStamp} for block {blockId}.");
            }

            if (replica.GenerationStamp >= recoveryId)
            {
                return InitReplicaRecoveryReply.Failed(
                    $"{Id}: replica generation stamp {replica.GenerationStamp} >= recovery id {recoveryId} for block {blockId}.");
            }

            if (replica.State == ReplicaState.Rur)
            {
                if (replica.RecoveryId >= recoveryId)
                {
                    return new InitReplicaRecoveryReply(
                        InitReplicaRecoveryStatus.RecoveryInProgress,
                        null,
                        $"{Id}: block {blockId} is under recovery {replica.RecoveryId} >= recovery id {recoveryId}.");
                }

                // The newer recovery takes the replica over from the older one.
                raisedFrom = replica.RecoveryId;
                replica.RecoveryId = recoveryId;
            }
            else
            {
                replica.OriginalState = replica.State;
                replica.State = ReplicaState.Rur;
                replica.RecoveryId = recoveryId;
            }

            _dirty.Add(blockId);
            reply = new InitReplicaRecoveryReply(
                InitReplicaRecoveryStatus.Initialized,
                new ReplicaRecoveryInfo(blockId, replica.NumBytes, replica.GenerationStamp, replica.OriginalState),
                string.Empty);
        }

        FlushOrFail();
        if (raisedFrom != 0)
        {
            DataNodeLog.RecoveryIdRaised(_logger, Id, blockId, raisedFrom, recoveryId);
        }

        return reply;
    }

    /// <summary>
    /// FsDatasetImpl.updateReplicaUnderRecovery: truncates the RUR replica to
    /// <paramref name="newLength"/> and finalizes it at <paramref name="recoveryId"/>.
    /// </summary>
    public UpdateReplicaReply UpdateReplicaUnderRecovery(long blockId, long recoveryId, long newLength)
    {
        var reply = UpdateInMemory(blockId, recoveryId, newLength);
        if (reply.Status == UpdateReplicaStatus.Finalized)
        {
            FlushOrFail();
        }

        return reply;
    }

    private UpdateReplicaReply UpdateInMemory(long blockId, long recoveryId, long newLength)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            if (TryConsumeFailureLocked(RecoveryStep.UpdateReplica))
            {
                return new UpdateReplicaReply(UpdateReplicaStatus.Failed, $"{Id}: injected failure in updateReplicaUnderRecovery of block {blockId}.");
            }

            if (!_replicas.TryGetValue(blockId, out var replica))
            {
                return new UpdateReplicaReply(UpdateReplicaStatus.ReplicaNotFound, $"{Id}: replica of block {blockId} not found.");
            }

            if (replica.State != ReplicaState.Rur)
            {
                return new UpdateReplicaReply(UpdateReplicaStatus.Failed, $"{Id}: replica of block {blockId} is {StateName(replica.State)}, not RUR.");
            }

            if (replica.RecoveryId != recoveryId)
            {
                // The fence against a superseded primary.
                return new UpdateReplicaReply(UpdateReplicaStatus.Failed, $"{Id}: replica of block {blockId} is under recovery {replica.RecoveryId} != recovery id {recoveryId}.");
            }

            if (replica.NumBytes < newLength)
            {
                return new UpdateReplicaReply(UpdateReplicaStatus.Failed, $"{Id}: replica of block {blockId} has {replica.NumBytes} bytes < new length {newLength}.");
            }

            replica.Truncate(newLength);
            replica.GenerationStamp = recoveryId;
            replica.State = ReplicaState.Finalized;
            replica.OriginalState = ReplicaState.Finalized;
            replica.RecoveryId = 0;
            _dirty.Add(blockId);
            return new UpdateReplicaReply(UpdateReplicaStatus.Finalized, string.Empty);
        }
    }

    /// <summary>
    /// Test seam: from now on every call (only every write of data with <paramref name="dataOnly"/>)
    /// waits until <see cref="Unhang"/>. Returns a task that completes when the first such call arrives.
    /// </summary>
    public Task Hang(bool dataOnly = false)
    {
        lock (_gate)
        {
            _hangDataOnly = _hang is null ? dataOnly : _hangDataOnly && dataOnly;
            _hang ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _hungCallArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _hungCallArrived.Task;
        }
    }

    public void Unhang()
    {
        TaskCompletionSource? hang;
        lock (_gate)
        {
            hang = _hang;
            _hang = null;
            _hungCallArrived = null;
            _hangDataOnly = false;
        }

        hang?.TrySetResult();
    }

    /// <summary>Where every call enters the node: waits while the node is hung.</summary>
    public Task WaitIfHungAsync(bool dataWrite, CancellationToken cancellationToken)
    {
        TaskCompletionSource? hang;
        TaskCompletionSource? arrived;
        lock (_gate)
        {
            hang = _hang;
            arrived = _hungCallArrived;
            if (_hangDataOnly && !dataWrite)
            {
                hang = null;
            }
        }

        if (hang is null)
        {
            return Task.CompletedTask;
        }

        arrived?.TrySetResult();
        return hang.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Writes every changed replica to the disk (nothing without one), outside the node's lock.
    /// Throws <see cref="IOException"/> when the disk refuses; the changes stay marked and the next
    /// flush tries them again.
    /// </summary>
    public void Flush()
    {
        if (_disk is null)
        {
            return;
        }

        lock (_diskWriter)
        {
            var images = new List<(long BlockId, ReplicaImage? Image)>();
            lock (_gate)
            {
                foreach (var blockId in _dirty)
                {
                    images.Add((blockId, _replicas.TryGetValue(blockId, out var r)
                        ? new ReplicaImage(r.BlockId, r.State, r.OriginalState, r.GenerationStamp, r.RecoveryId, r.Data)
                        : null));
                }

                _dirty.Clear();
            }

            for (var i = 0; i < images.Count; i++)
            {
                try
                {
                    if (images[i].Image is { } image)
                    {
                        _disk.Write(image);
                    }
                    else
                    {
                        _disk.Delete(images[i].BlockId);
                    }
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    lock (_gate)
                    {
                        for (var j = i; j < images.Count; j++)
                        {
                            _dirty.Add(images[j].BlockId);
                        }
                    }

                    throw new IOException($"{Id} could not write its disk at {_disk.Directory}: {ex.Message}", ex);
                }
            }
        }
    }

    /// <summary><see cref="Flush"/> for a call from the NameNode or a client: a disk that fails makes the call fail, as a DataNode whose volume failed does.</summary>
    private void FlushOrFail()
    {
        try
        {
            Flush();
        }
        catch (IOException ex)
        {
            throw new DataNodeUnreachableException(Id, ex.Message);
        }
    }

    private void ThrowIfStopped()
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The node lock must be held.");
        if (!_running)
        {
            throw new DataNodeUnreachableException(Id, $"{Id} is not running.");
        }
    }

    private void StopLocked(long now)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The node lock must be held.");
        if (_running)
        {
            _running = false;
            _lastHeartbeat = now;
        }

        _writers.Clear(); // The process's write streams die with it.
    }

    private bool TryConsumeFailureLocked(RecoveryStep step)
    {
        Debug.Assert(_gate.IsHeldByCurrentThread, "The node lock must be held.");
        if (_injectedFailures[(int)step] <= 0)
        {
            return false;
        }

        _injectedFailures[(int)step]--;
        return true;
    }

    private static string StateName(ReplicaState state) => state switch
    {
        ReplicaState.Finalized => "FINALIZED",
        ReplicaState.Rbw => "RBW",
        ReplicaState.Rwr => "RWR",
        ReplicaState.Rur => "RUR",
        ReplicaState.Temporary => "TEMPORARY",
        _ => state.ToString(),
    };
}
