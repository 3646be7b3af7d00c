using System.Diagnostics;
using System.Diagnostics.Metrics;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Core;

/// <summary>
/// The NameNode's lease subsystem: a namespace of files, one lease per holder covering all its
/// open files, soft and hard limits on a monotonic clock, and lease recovery that closes a file
/// at once or drives block recovery through the <see cref="IDataNodeCoordinator"/>.
/// </summary>
/// <remarks>
/// Every state change is one explicit operation (grant, renew, release, reassign, close) applied
/// under one lock with a short critical section. Calls to DataNodes and logging happen outside it.
/// Expected failures come back as <see cref="Outcome{T}"/> values, never exceptions.
/// </remarks>
public sealed partial class LeaseManager : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, FileEntry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly Dictionary<long, BlockEntry> _blocks = [];

    // Leases in renewal order. Renewal stamps the monotonic "now" under the lock and moves the
    // lease to the tail, so the list is sorted by (last renewal, renewal sequence): the head is
    // always the oldest lease, renew is O(1) and a monitor pass is O(expired).
    private readonly IntrusiveList<Lease> _expiry = new();
    private readonly OpenFileIndex _openFiles = new();
    private readonly IntrusiveList<RecoveryState> _recoveries = new();

    private readonly LeaseManagerOptions _options;
    private readonly IDataNodeCoordinator _dataNodes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _softLimit;
    private readonly long _hardLimit;
    private readonly long _recoveryTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskTracker _recoveryTasks = new();

    private LeaseCounters _counters;
    private long _generationStamp;
    private long _lastBlockId;
    private int _pipelineCursor;
    private string? _recoveryHolder;
    private long _recoveryHolderSince;
    private int _recoveryHolderSequence;

    /// <summary>Creates an empty lease manager.</summary>
    /// <param name="options">The limits in force.</param>
    /// <param name="dataNodes">The DataNodes that run block recovery.</param>
    /// <param name="timeProvider">The clock: monotonic timestamps for every limit.</param>
    /// <param name="logger">Lease transitions at Information, recovery problems at Warning.</param>
    /// <param name="meter">
    /// Where to publish the manager's observable instruments (see <see cref="MeterName"/>); none
    /// when null. The caller owns the meter and disposes it.
    /// </param>
    public LeaseManager(LeaseManagerOptions options, IDataNodeCoordinator dataNodes, TimeProvider timeProvider, ILogger<LeaseManager>? logger = null, Meter? meter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataNodes);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.SoftLimit <= TimeSpan.Zero || options.HardLimit < options.SoftLimit)
        {
            throw new ArgumentException("Limits must satisfy 0 < SoftLimit <= HardLimit.", nameof(options));
        }

        _options = options;
        _dataNodes = dataNodes;
        _time = timeProvider;
        _logger = logger ?? NullLogger<LeaseManager>.Instance;
        _softLimit = ToTimestampUnits(options.SoftLimit);
        _hardLimit = ToTimestampUnits(options.HardLimit);
        _recoveryTimeout = ToTimestampUnits(options.RecoveryTimeout);
        if (meter is not null)
        {
            CreateInstruments(meter);
        }
    }

    /// <summary>The limits in force.</summary>
    public LeaseManagerOptions Options => _options;

    /// <summary>
    /// Opens <paramref name="path"/> for write (create, or append to a closed file) and grants
    /// its lease to <paramref name="holder"/>, renewing the holder's whole lease. Idempotent for
    /// the current holder. Another holder within the soft limit: FailedPrecondition. Past it:
    /// lease recovery starts; the caller gets the lease if the file closes at once, else
    /// Unavailable (retry later).
    /// </summary>
    public Outcome<LeaseView> AddLease(string holder, string path, string? clientMachine)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path) ?? LeaseValidation.CheckClientMachine(clientMachine);
        if (invalid is not null)
        {
            return Outcome<LeaseView>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        var machine = clientMachine ?? string.Empty;
        var nodes = _dataNodes.GetDataNodes();
        Outcome<LeaseView> outcome;
        var attempt = default(RecoveryAttempt);
        string? previousHolder = null;
        long closedEpoch = 0;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (!_files.TryGetValue(path, out var file))
            {
                file = new FileEntry(path);
                _files.Add(path, file);
                Grant(file, holder, machine, now);
                outcome = Outcome<LeaseView>.Ok(View(file, now));
            }
            else if (!file.UnderConstruction)
            {
                Grant(file, holder, machine, now);
                outcome = Outcome<LeaseView>.Ok(View(file, now));
            }
            else if (file.Recovery is not null)
            {
                outcome = Outcome<LeaseView>.Fail(OutcomeKind.Unavailable, $"lease recovery in progress for {path}; try again later");
            }
            else if (file.Lease!.Holder == holder)
            {
                RenewLocked(file.Lease, now);
                outcome = Outcome<LeaseView>.Ok(View(file, now));
            }
            else if (now - file.Lease.LastRenewed <= _softLimit)
            {
                outcome = Outcome<LeaseView>.Fail(
                    OutcomeKind.FailedPrecondition,
                    $"{path} is currently owned by {file.Lease.Holder} on {Describe(file.ClientMachine)}");
            }
            else
            {
                // Soft limit passed: recover the path on the new writer's behalf.
                previousHolder = file.Lease.Holder;
                _counters.Takeovers++;
                if (ReleaseLocked(file, null, now, nodes, fromMonitor: false, out attempt) == Release.Closed)
                {
                    closedEpoch = file.Epoch;
                    Grant(file, holder, machine, now);
                    outcome = Outcome<LeaseView>.Ok(View(file, now));
                }
                else
                {
                    outcome = Outcome<LeaseView>.Fail(OutcomeKind.Unavailable, $"lease recovery in progress for {path}; try again later");
                }
            }
        }

        if (previousHolder is not null)
        {
            LogSoftLimitTakeover(path, previousHolder, holder);
        }

        if (closedEpoch != 0)
        {
            LogClosedByRecovery(path, closedEpoch);
        }

        Dispatch(attempt, path);
        if (outcome.IsOk)
        {
            LogGranted(path, holder, outcome.Value.Epoch);
        }

        return outcome;
    }

    /// <summary>Renews every path of <paramref name="holder"/>; NotFound when it holds nothing.</summary>
    /// <returns>The number of paths renewed.</returns>
    public Outcome<int> RenewLease(string holder)
    {
        var invalid = LeaseValidation.CheckHolder(holder);
        if (invalid is not null)
        {
            return Outcome<int>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        lock (_lock)
        {
            if (!_leases.TryGetValue(holder, out var lease))
            {
                return Outcome<int>.Fail(OutcomeKind.NotFound, $"holder {holder} holds no leases (never granted, released, or recovered)");
            }

            RenewLocked(lease, _time.GetTimestamp());
            _counters.Renewals++;
            return Outcome<int>.Ok(lease.Files.Count);
        }
    }

    /// <summary>
    /// The holder's normal close. Closes the file once its last block is complete (enough
    /// FINALIZED replicas) and returns true; returns false while the block waits for replicas,
    /// and the holder retries, as HDFS complete does.
    /// </summary>
    public async ValueTask<Outcome<bool>> RemoveLeaseAsync(string holder, string path, CancellationToken cancellationToken = default)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return Outcome<bool>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        BlockEntry? pending;
        lock (_lock)
        {
            var check = CheckWriter(holder, path, "close", out var file);
            if (!check.IsOk)
            {
                return check.As<bool>();
            }

            pending = file!.LastBlock;
            if (pending is null || pending.State == BlockState.Complete)
            {
                CloseLocked(file);
                _counters.Releases++;
                pending = null;
            }
        }

        if (pending is null)
        {
            LogClosed(path, holder);
            return Outcome<bool>.Ok(true);
        }

        var (blockId, stamp) = (pending.Id, pending.GenerationStamp);
        var replicas = await _dataNodes.GetReplicasAsync(blockId, pending.Locations, cancellationToken).ConfigureAwait(false);
        bool closed;
        lock (_lock)
        {
            var check = CheckWriter(holder, path, "close", out var file);
            if (!check.IsOk)
            {
                return check.As<bool>();
            }

            var last = file!.LastBlock;
            if (last is null || last.Id != blockId || last.GenerationStamp != stamp)
            {
                return Outcome<bool>.Fail(OutcomeKind.Aborted, $"the last block of {path} changed while closing; retry");
            }

            closed = CommitLocked(last, replicas);
            if (closed)
            {
                CloseLocked(file);
                _counters.Releases++;
            }
        }

        if (closed)
        {
            LogClosed(path, holder);
        }

        return Outcome<bool>.Ok(closed);
    }

    /// <summary>
    /// Allocates a new last block for an open file. Only the lease holder may call it; the
    /// previous last block must be FINALIZED on at least MinReplication DataNodes and becomes
    /// COMPLETE. The pipeline is up to ReplicationFactor live DataNodes.
    /// </summary>
    public async ValueTask<Outcome<AddBlockResult>> AddBlockAsync(string holder, string path, CancellationToken cancellationToken = default)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return Outcome<AddBlockResult>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        BlockEntry? previous;
        lock (_lock)
        {
            var check = CheckWriter(holder, path, "add a block to", out var file);
            if (!check.IsOk)
            {
                return check.As<AddBlockResult>();
            }

            previous = file!.LastBlock is { State: not BlockState.Complete } last ? last : null;
        }

        IReadOnlyList<ReplicaReport>? replicas = null;
        if (previous is not null)
        {
            replicas = await _dataNodes.GetReplicasAsync(previous.Id, previous.Locations, cancellationToken).ConfigureAwait(false);
        }

        var nodes = _dataNodes.GetDataNodes();
        lock (_lock)
        {
            var check = CheckWriter(holder, path, "add a block to", out var file);
            if (!check.IsOk)
            {
                return check.As<AddBlockResult>();
            }

            var last = file!.LastBlock;
            if (previous is not null)
            {
                if (!ReferenceEquals(last, previous) || last.GenerationStamp != previous.GenerationStamp)
                {
                    return Outcome<AddBlockResult>.Fail(OutcomeKind.Aborted, $"the last block of {path} changed while adding a block; retry");
                }

                if (!CommitLocked(last, replicas!))
                {
                    return Outcome<AddBlockResult>.Fail(
                        OutcomeKind.FailedPrecondition,
                        $"block {last.Id} of {path} is not FINALIZED on {_options.MinReplication} DataNode(s) yet; finish writing it before adding the next");
                }
            }

            var pipeline = ChoosePipeline(nodes);
            if (pipeline.Length < _options.MinReplication)
            {
                return Outcome<AddBlockResult>.Fail(
                    OutcomeKind.Unavailable,
                    $"too few live DataNodes for a new block: {pipeline.Length} live, {_options.MinReplication} needed");
            }

            var block = new BlockEntry(++_lastBlockId, ++_generationStamp, pipeline, file);
            (file.Blocks ??= []).Add(block);
            _blocks.Add(block.Id, block);
            RenewLocked(file.Lease!, _time.GetTimestamp());
            return Outcome<AddBlockResult>.Ok(new AddBlockResult(ToView(block), file.Epoch));
        }
    }

    /// <summary>Stops background recoveries; in-flight DataNode calls are cancelled.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _recoveryTasks.WhenIdleAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Completes when no block recovery dispatched so far is still running (tests, shutdown).</summary>
    public Task WhenRecoveriesIdleAsync() => _recoveryTasks.WhenIdleAsync();

    private Outcome<bool> CheckWriter(string holder, string path, string operation, out FileEntry? file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!_files.TryGetValue(path, out file) || !file.UnderConstruction)
        {
            return Outcome<bool>.Fail(OutcomeKind.NotFound, $"{path} is not open for write");
        }

        if (file.Recovery is not null)
        {
            return Outcome<bool>.Fail(OutcomeKind.FailedPrecondition, $"cannot {operation} {path}: lease recovery is in progress");
        }

        if (file.Lease!.Holder != holder)
        {
            return Outcome<bool>.Fail(
                OutcomeKind.FailedPrecondition,
                $"cannot {operation} {path}: {holder} is not the lease holder (held by {file.Lease.Holder} on {Describe(file.ClientMachine)})");
        }

        return Outcome<bool>.Ok(true);
    }

    /// <summary>
    /// Commits <paramref name="block"/> from its replica reports: COMPLETE with the FINALIZED
    /// length when enough FINALIZED replicas at its stamp agree, else COMMITTED.
    /// </summary>
    private bool CommitLocked(BlockEntry block, IReadOnlyList<ReplicaReport> replicas)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var finalized = 0;
        long finalizedLength = -1;
        long longest = 0;
        foreach (var replica in replicas)
        {
            if (replica.GenerationStamp != block.GenerationStamp)
            {
                continue;
            }

            longest = Math.Max(longest, replica.NumBytes);
            if (replica.State == ReplicaState.Finalized && (finalizedLength < 0 || finalizedLength == replica.NumBytes))
            {
                finalizedLength = replica.NumBytes;
                finalized++;
            }
        }

        if (finalized >= _options.MinReplication)
        {
            block.NumBytes = finalizedLength;
            block.State = BlockState.Complete;
            return true;
        }

        block.NumBytes = longest;
        block.State = BlockState.Committed;
        return false;
    }

    private string[] ChoosePipeline(IReadOnlyList<DataNodeStatus> nodes)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var live = new List<string>(nodes.Count);
        foreach (var node in nodes)
        {
            if (node.IsAlive)
            {
                live.Add(node.Id);
            }
        }

        var size = Math.Min(_options.ReplicationFactor, live.Count);
        var pipeline = new string[size];
        var start = live.Count == 0 ? 0 : _pipelineCursor++ % live.Count;
        for (var i = 0; i < size; i++)
        {
            pipeline[i] = live[(start + i) % live.Count];
        }

        return pipeline;
    }

    private void Grant(FileEntry file, string holder, string machine, long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!file.UnderConstruction)
        {
            _openFiles.Add(file);
        }
        else
        {
            DetachLocked(file);
        }

        var lease = AttachLocked(file, holder, isRecoveryHolder: false, now);
        file.ClientMachine = ReferenceEquals(lease.Files.Head, file) || lease.Files.Head!.ClientMachine != machine
            ? machine
            : lease.Files.Head.ClientMachine; // Share one string per holder: a million files, one machine name.
        file.Epoch = ++_generationStamp;
        _counters.Grants++;
    }

    /// <summary>Adds the file to the holder's lease, creating or renewing it (HDFS addLease).</summary>
    private Lease AttachLocked(FileEntry file, string holder, bool isRecoveryHolder, long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!_leases.TryGetValue(holder, out var lease))
        {
            lease = new Lease(holder, isRecoveryHolder);
            _leases.Add(holder, lease);
            lease.LastRenewed = now;
            _expiry.AddLast(lease);
        }
        else
        {
            RenewLocked(lease, now);
        }

        lease.Files.AddLast(file);
        file.Lease = lease;
        return lease;
    }

    /// <summary>Removes the file from its lease; a lease with no files left is deleted.</summary>
    private void DetachLocked(FileEntry file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var lease = file.Lease!;
        lease.Files.Remove(file);
        file.Lease = null;
        if (lease.Files.Count == 0)
        {
            _leases.Remove(lease.Holder);
            _expiry.Remove(lease);
        }
    }

    private void RenewLocked(Lease lease, long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        Debug.Assert(_expiry.Tail is null || _expiry.Tail.LastRenewed <= now, "The monotonic clock went backwards.");
        lease.LastRenewed = now;
        _expiry.MoveToLast(lease);
    }

    private void CloseLocked(FileEntry file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        DetachLocked(file);
        _openFiles.Remove(file);
        if (file.Recovery is { } recovery)
        {
            _recoveries.Remove(recovery);
            file.Recovery = null;
        }
    }

    private long ToTimestampUnits(TimeSpan duration)
        => (long)((decimal)duration.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond);

    private static string Describe(string machine) => machine.Length == 0 ? "an unknown machine" : machine;
}
