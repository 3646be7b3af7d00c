using System.Globalization;
using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Logging;
using LeaseService.DataNodes.Internal.Nodes;
using LeaseService.DataNodes.Internal.Recovery;
using LeaseService.DataNodes.Internal.Transport;
using Microsoft.Extensions.Logging;

namespace LeaseService.DataNodes;

/// <summary>
/// The server's embedded DataNode fleet: N simulated DataNodes ("dn-1" to "dn-N") holding
/// replicas, answering the NameNode's recovery commands with HDFS's replica and sync rules. It is
/// the core's <see cref="IDataNodeCoordinator"/>, and offers a control surface (writes through a
/// pipeline, stop and restart, failure injection, listings) for tests, demos and drills.
/// Every call that reaches a DataNode crosses one asynchronous, timeout-bounded channel, the seam
/// where a remote fleet would plug in.
/// </summary>
public sealed class SimulatedDataNodeCluster : IDataNodeCoordinator
{
    private readonly IReadOnlyList<SimulatedDataNode> _nodes;
    private readonly Dictionary<string, SimulatedDataNode> _nodesById;
    private readonly SimulatedDataNodeChannel _channel;
    private readonly BlockRecoveryWorker _worker;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _recoveryTimeout;
    private readonly long _blockSize;
    private readonly ILogger _logger;

    /// <summary>
    /// Creates the cluster; every DataNode starts running, empty, or with what its directory under
    /// <see cref="SimulatedDataNodeClusterOptions.DataDirectory"/> holds.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="IOException">The data directory cannot be created or read.</exception>
    /// <exception cref="UnauthorizedAccessException">The data directory is not accessible.</exception>
    public SimulatedDataNodeCluster(
        SimulatedDataNodeClusterOptions options,
        TimeProvider timeProvider,
        ILogger<SimulatedDataNodeCluster> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();

        _timeProvider = timeProvider;
        _recoveryTimeout = options.RecoveryTimeout;
        _blockSize = options.BlockSize;
        _logger = logger;
        _nodes = Enumerable.Range(1, options.DataNodeCount)
            .Select(DataNodeId)
            .Select(id => new SimulatedDataNode(id, logger, options.DataDirectory is { } root ? new ReplicaDisk(Path.Combine(root, id)) : null))
            .ToArray();
        _nodesById = _nodes.ToDictionary(n => n.Id, StringComparer.Ordinal);
        _channel = new SimulatedDataNodeChannel(_nodesById, timeProvider, options.CallTimeout);
        _worker = new BlockRecoveryWorker(_channel, logger);
    }

    /// <summary>The DataNode ids, in order ("dn-1" first).</summary>
    public IReadOnlyList<string> DataNodeIds => _nodes.Select(n => n.Id).ToArray();

    /// <summary>The id of the <paramref name="number"/>th DataNode (from 1): "dn-1", "dn-2", …</summary>
    public static string DataNodeId(int number) => "dn-" + number.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public IReadOnlyList<DataNodeStatus> GetDataNodes()
    {
        var now = _timeProvider.GetTimestamp();
        return _nodes.Select(n => n.Status(now)).ToArray();
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(
        long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(locations);

        // One location after another, each bounded by the call timeout, as the primary does:
        // a silent DataNode costs one timeout and is left out.
        var reports = new List<ReplicaReport>(locations.Count);
        foreach (var location in locations)
        {
            SimulatedReplica? replica;
            try
            {
                replica = await _channel.GetReplicaAsync(location, blockId, cancellationToken).ConfigureAwait(false);
            }
            catch (DataNodeUnreachableException)
            {
                continue;
            }

            if (replica is not null)
            {
                reports.Add(new ReplicaReport(replica.DataNodeId, replica.BlockId, replica.State, replica.NumBytes, replica.GenerationStamp));
            }
        }

        return reports;
    }

    /// <inheritdoc />
    public async ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        var primaryId = command.PrimaryDataNodeId;
        try
        {
            return await _channel.RecoverBlockAsync(primaryId, _recoveryTimeout, RunOnPrimaryAsync, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (DataNodeTimeoutException ex)
        {
            DataNodeLog.PrimaryUnreachable(_logger, command.RecoveryId, command.BlockId, primaryId, ex.Message);
            return new BlockRecoveryFailed(
                command.BlockId,
                command.RecoveryId,
                BlockRecoveryFailure.TimedOut,
                $"Primary {primaryId} did not finish recovery {command.RecoveryId} of block {command.BlockId} within {_recoveryTimeout.TotalSeconds:0.###} s.",
                [primaryId]);
        }
        catch (DataNodeUnreachableException ex)
        {
            DataNodeLog.PrimaryUnreachable(_logger, command.RecoveryId, command.BlockId, primaryId, ex.Message);
            return new BlockRecoveryFailed(
                command.BlockId,
                command.RecoveryId,
                BlockRecoveryFailure.PrimaryUnavailable,
                $"Primary {primaryId} is unavailable for recovery {command.RecoveryId} of block {command.BlockId}: {ex.Message}",
                [primaryId]);
        }

        async Task<BlockRecoveryResult> RunOnPrimaryAsync(SimulatedDataNode primary, CancellationToken token)
        {
            var result = await _worker.RecoverAsync(primary.Id, command, token).ConfigureAwait(false);
            if (!primary.IsRunning)
            {
                // Stopped while it worked: nobody is left to send the commit.
                throw new DataNodeUnreachableException(primary.Id, $"{primary.Id} stopped before committing.");
            }

            if (result is BlockRecoveryCommitted && primary.TryDieBeforeCommit(_timeProvider.GetTimestamp()))
            {
                DataNodeLog.PrimaryDiedBeforeCommit(_logger, primary.Id, command.BlockId, command.RecoveryId);
                throw new DataNodeUnreachableException(primary.Id, $"{primary.Id} died before committing.");
            }

            return result;
        }
    }

    /// <summary>
    /// Writes bytes through a block's pipeline as a client would (see <see cref="PipelineWrite"/>).
    /// Expected refusals are results: a stale generation stamp (the writer was fenced), a replica
    /// that cannot take the write or a pipeline that does not end at the write's
    /// <see cref="PipelineWrite.Offset"/> (nothing written), another write of the block in progress
    /// on a DataNode of the pipeline (nothing written), an unreachable DataNode. Each DataNode the
    /// write reaches holds its replica for this write from the setup until the write ends (one
    /// writer per replica, as HDFS's DataNode): two writes of a block never interleave on any
    /// replica, so every replica takes them in one order. <paramref name="cancellationToken"/>
    /// stops the write until its data starts flowing (nothing written then); after that the data
    /// reaches every DataNode of the pipeline that takes it, cancelled or not.
    /// </summary>
    /// <exception cref="DataNodeNotFoundException">The pipeline names an unknown DataNode.</exception>
    /// <exception cref="ArgumentException">The pipeline is empty or repeats a DataNode, or a count or length is out of range.</exception>
    public async Task<SimulatedWriteResult> WriteAsync(PipelineWrite write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        ValidateWrite(write);

        var lengths = write.ReplicaLengths ?? [];
        var targets = write.StopAfterReplicas > 0 ? Math.Min(write.StopAfterReplicas, write.Pipeline.Count) : write.Pipeline.Count;

        var written = new List<SimulatedReplica>(targets);
        long offset = 0; // Where the data starts in the block: set after setup.

        // A close that names where the block ends (HDFS's recoverClose, with the expected length):
        // replicas FINALIZED at that length take it as well, so a close whose answer was lost can
        // be repeated and confirmed.
        var recoverClose = write.Data.IsEmpty && write.Finalize && write.Offset is not null;
        var stream = new WriteStream();
        try
        {
            return await WriteStreamAsync().ConfigureAwait(false);
        }
        finally
        {
            // The stream's connections close: every DataNode lets the replica go (the DataNode
            // sees its own connection end; nothing to send, so no channel, no timeout).
            stream.End();
            for (var i = 0; i < targets; i++)
            {
                _nodesById[write.Pipeline[i]].EndWrite(write.BlockId, stream);
            }
        }

        async Task<SimulatedWriteResult> WriteStreamAsync()
        {
            // Setup: every DataNode the write reaches checks the writer's generation stamp before any
            // data flows, so a fenced writer changes nothing, and is told so even when another
            // DataNode would have refused it for another reason first. (DataNodes past
            // StopAfterReplicas are treated as beyond a break that already happened.) Once one has
            // refused, the ones after it are only asked about the stamp: the write holds no replica
            // past the refusal (one another write may be about to claim).
            SimulatedWriteResult? setupFailure = null;
            for (var i = 0; i < targets && setupFailure?.Status != SimulatedWriteStatus.StaleGenerationStamp; i++)
            {
                var failure = await HopAsync(i, setup: true, claim: setupFailure is null).ConfigureAwait(false);
                if (failure is not null && (setupFailure is null || failure.Status == SimulatedWriteStatus.StaleGenerationStamp))
                {
                    setupFailure = failure;
                }
            }

            if (setupFailure is not null)
            {
                return setupFailure;
            }

            // Data: down the pipeline to the first StopAfterReplicas DataNodes, each at the same byte of
            // the block (HDFS packets carry their offset): where the writer's stream ends, that is the
            // longest replica of the pipeline (no replica holds bytes the writer did not send). A
            // DataNode that fails now (stopped, changed since setup, or missing earlier data — the head
            // too) breaks the pipeline there; the replicas stay prefixes of one another.
            foreach (var report in await GetReplicasAsync(write.BlockId, write.Pipeline, cancellationToken).ConfigureAwait(false))
            {
                offset = Math.Max(offset, report.NumBytes);
            }

            if (write.Offset is { } expected && expected != offset)
            {
                // The writer's stream ends elsewhere: a retry of a write whose answer was lost (the
                // block holds its bytes already), or a writer that lost track. Appending would put the
                // bytes twice, or at a byte the writer did not mean; nothing is written.
                return new SimulatedWriteResult(
                    SimulatedWriteStatus.ReplicaNotWritable,
                    $"Block {write.BlockId} holds {offset} bytes (its longest replica in the pipeline); the write starts at byte {expected}: nothing written.",
                    written,
                    null);
            }

            if (offset + write.Data.Length > _blockSize)
            {
                return new SimulatedWriteResult(
                    SimulatedWriteStatus.ReplicaNotWritable,
                    $"Block {write.BlockId} holds {offset} bytes; {write.Data.Length} more would pass the block size ({_blockSize} bytes): add a block.",
                    written,
                    null);
            }

            cancellationToken.ThrowIfCancellationRequested(); // The last moment nothing is written yet.
            for (var i = 0; i < targets; i++)
            {
                if (await HopAsync(i, setup: false).ConfigureAwait(false) is { } failure)
                {
                    return failure;
                }
            }

            return new SimulatedWriteResult(
                SimulatedWriteStatus.Written,
                $"Wrote block {write.BlockId} at generation stamp {write.GenerationStamp} to [{string.Join(", ", written.Select(r => r.DataNodeId))}].",
                written,
                null);
        }

        async Task<SimulatedWriteResult?> HopAsync(int index, bool setup, bool claim = true)
        {
            var dataNodeId = write.Pipeline[index];
            WriteReplicaReply? reply;
            try
            {
                if (setup)
                {
                    reply = await _channel.BeginWriteAsync(dataNodeId, write.BlockId, write.GenerationStamp, recoverClose, claim ? stream : null, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // Not the caller's token: once the head has the bytes they go down the whole
                    // pipeline (each hop bounded by the call timeout), as a DataNode mirrors a packet
                    // downstream whatever the client does. A client that cancels (or whose deadline
                    // passes) mid-pipeline would otherwise leave healthy DataNodes short of the
                    // head, and every later write of the block would break there.
                    var data = index < lengths.Count ? write.Data[..(int)lengths[index]] : write.Data;
                    reply = await _channel.WriteAsync(dataNodeId, write.BlockId, write.GenerationStamp, data, write.Finalize, offset, recoverClose, stream, CancellationToken.None)
                        .ConfigureAwait(false);
                }
            }
            catch (DataNodeUnreachableException ex)
            {
                DataNodeLog.WriteRefused(_logger, write.BlockId, write.GenerationStamp, dataNodeId, SimulatedWriteStatus.DataNodeUnavailable);
                return new SimulatedWriteResult(
                    SimulatedWriteStatus.DataNodeUnavailable,
                    $"The pipeline for block {write.BlockId} broke at {dataNodeId}: {ex.Message}",
                    written,
                    dataNodeId);
            }

            if (reply is null || reply.Status == WriteReplicaStatus.Written)
            {
                if (reply?.Replica is { } replica)
                {
                    written.Add(replica);
                }

                return null;
            }

            var status = reply.Status switch
            {
                WriteReplicaStatus.StaleGenerationStamp => SimulatedWriteStatus.StaleGenerationStamp,
                WriteReplicaStatus.Busy => SimulatedWriteStatus.ConcurrentWrite,
                _ => SimulatedWriteStatus.ReplicaNotWritable,
            };
            DataNodeLog.WriteRefused(_logger, write.BlockId, write.GenerationStamp, dataNodeId, status);
            return new SimulatedWriteResult(status, reply.Message, written, dataNodeId);
        }
    }

    /// <summary>Stops a DataNode: it refuses every call until restarted. Stopping a stopped DataNode does nothing.</summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    public SimulatedDataNodeInfo StopDataNode(string dataNodeId)
    {
        var node = Find(dataNodeId);
        node.Stop(_timeProvider.GetTimestamp());
        DataNodeLog.DataNodeStopped(_logger, node.Id);
        return node.Info();
    }

    /// <summary>
    /// Restarts a DataNode, running or stopped: its RBW replicas become RWR, TEMPORARY ones are
    /// deleted, a replica under recovery forgets the recovery (HDFS keeps RUR only in memory).
    /// </summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    /// <exception cref="IOException">The DataNode could not write its disk (it runs, with the changes in memory).</exception>
    public SimulatedDataNodeInfo RestartDataNode(string dataNodeId)
    {
        var node = Find(dataNodeId);
        node.Restart(_timeProvider.GetTimestamp());
        DataNodeLog.DataNodeRestarted(_logger, node.Id);
        return node.Info();
    }

    /// <summary>Makes the DataNode's next <paramref name="count"/> executions of <paramref name="step"/> fail. Counts add up (to at most <see cref="int.MaxValue"/>).</summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Unknown step, or count not positive.</exception>
    public SimulatedDataNodeInfo InjectFailure(string dataNodeId, RecoveryStep step, int count = 1)
    {
        if (!Enum.IsDefined(step))
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "Unknown recovery step.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var node = Find(dataNodeId);
        node.InjectFailure(step, count);
        DataNodeLog.FailureInjected(_logger, node.Id, step, count);
        return node.Info();
    }

    /// <summary>Every DataNode, in order.</summary>
    public IReadOnlyList<SimulatedDataNodeInfo> ListDataNodes() => _nodes.Select(n => n.Info()).ToArray();

    /// <summary>Every replica of a block, on running and stopped DataNodes alike, in DataNode order.</summary>
    public IReadOnlyList<SimulatedReplica> ListReplicas(long blockId) =>
        _nodes.Select(n => n.PeekReplica(blockId)).OfType<SimulatedReplica>().ToArray();

    /// <summary>A copy of the bytes a DataNode holds for a block, or null when it has no replica.</summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    public byte[]? ReadReplica(string dataNodeId, long blockId) => Find(dataNodeId).PeekReplicaData(blockId);

    /// <summary>Test seam: places a replica in any state on a DataNode, as if loaded from its disk.</summary>
    internal void SeedReplica(
        string dataNodeId, long blockId, ReplicaState state, long generationStamp, byte[] data, long recoveryId = 0, ReplicaState originalState = ReplicaState.Rbw) =>
        Find(dataNodeId).SeedReplica(blockId, state, generationStamp, data, recoveryId, originalState);

    /// <summary>
    /// Partitions a DataNode: it accepts calls and answers none until <see cref="ResumeDataNode"/>,
    /// so callers meet their timeouts (a hung node), unlike a stopped one that refuses at once.
    /// </summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    public SimulatedDataNodeInfo PauseDataNode(string dataNodeId)
    {
        var node = Find(dataNodeId);
        _ = node.Hang();
        return node.Info();
    }

    /// <summary>Ends a <see cref="PauseDataNode"/>: waiting calls proceed.</summary>
    /// <exception cref="DataNodeNotFoundException">Unknown id.</exception>
    public SimulatedDataNodeInfo ResumeDataNode(string dataNodeId)
    {
        var node = Find(dataNodeId);
        node.Unhang();
        return node.Info();
    }

    /// <summary>
    /// Test seam: the DataNode accepts calls and never answers until <see cref="ReleaseDataNode"/>.
    /// The returned task completes when the first call arrives (its timeout is armed by then).
    /// </summary>
    internal Task HangDataNode(string dataNodeId) => Find(dataNodeId).Hang();

    /// <summary>
    /// Test seam: as <see cref="HangDataNode"/>, for the writes of data only (the pipeline's setup
    /// and the replica reads still answer): a write holds there with the DataNodes before it written.
    /// </summary>
    internal Task HangDataNodeWrites(string dataNodeId) => Find(dataNodeId).Hang(dataOnly: true);

    internal void ReleaseDataNode(string dataNodeId) => Find(dataNodeId).Unhang();

    private SimulatedDataNode Find(string dataNodeId)
    {
        ArgumentNullException.ThrowIfNull(dataNodeId);
        return _nodesById.TryGetValue(dataNodeId, out var node) ? node : throw new DataNodeNotFoundException(dataNodeId);
    }

    private void ValidateWrite(PipelineWrite write)
    {
        ArgumentNullException.ThrowIfNull(write.Pipeline);
        if (write.Pipeline.Count == 0)
        {
            throw new ArgumentException("The pipeline names no DataNode.", nameof(write));
        }

        foreach (var id in write.Pipeline)
        {
            Find(id);
        }

        if (write.Pipeline.Distinct(StringComparer.Ordinal).Count() != write.Pipeline.Count)
        {
            throw new ArgumentException("The pipeline names a DataNode more than once.", nameof(write));
        }

        if (write.GenerationStamp <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(write), write.GenerationStamp, "The generation stamp must be positive.");
        }

        if (write.Offset < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(write), write.Offset, "The offset must not be negative.");
        }

        if (write.StopAfterReplicas < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(write), write.StopAfterReplicas, "StopAfterReplicas must not be negative.");
        }

        if (write.ReplicaLengths is { } lengths)
        {
            if (lengths.Count > write.Pipeline.Count)
            {
                throw new ArgumentException($"{lengths.Count} replica lengths for a pipeline of {write.Pipeline.Count}.", nameof(write));
            }

            foreach (var length in lengths)
            {
                if (length < 0 || length > write.Data.Length)
                {
                    throw new ArgumentOutOfRangeException(nameof(write), length, $"A replica length must be between 0 and the data's {write.Data.Length} bytes.");
                }
            }
        }
    }
}
