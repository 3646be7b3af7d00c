using System.Diagnostics;
using System.Diagnostics.Metrics;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Core;

/// <summary>
/// The NameNode's lease subsystem: a namespace of files, one lease per holder covering all its
/// open files, soft and hard limits on a monotonic clock, and lease recovery that closes a file
/// at once or drives block recovery through the <see cref="IDataNodeCoordinator"/>.
/// </summary>
/// <remarks>
/// The state is split by concept — the namespace and block map (<c>FileNamespace</c>), the lease
/// table (<c>LeaseTable</c>), the recovery queue (<c>RecoveryQueue</c>) — under one lock with short
/// critical sections. Each call decides and applies its change under the lock, collects what must
/// happen after it in one <c>Effects</c> (records to persist, logs, DataNode calls), hands the
/// records to the group-commit writer, and answers once they are durable; the effects run then,
/// outside the lock. Renewal is not persisted. Expected failures come back as
/// <see cref="Outcome{T}"/> values, never exceptions.
/// </remarks>
public sealed partial class LeaseManager : IAsyncDisposable
{
    private readonly Lock _lock = new();

    // The state, by concept, all under the one lock. Replaced as a whole when it is (re)loaded
    // from the store; otherwise changed only under the lock, and every change a caller can observe
    // ends in a persisted record (SealLocked).
    private FileNamespace _namespace;
    private LeaseTable _leases;
    private RecoveryQueue _recoveries;

    private readonly LeaseManagerOptions _options;
    private readonly IDataNodeCoordinator _dataNodes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ILeaseStore _store;
    private readonly GroupCommitWriter _writer;
    private readonly long _softLimit;
    private readonly long _hardLimit;
    private readonly long _recoveryTimeout;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskTracker _recoveryTasks = new();

    private LeaseCounters _counters;
    private long _generationStamp;
    private long _lastBlockId;
    private uint _pipelineCursor; // Wraps to 0 after 2^32 blocks.
    private string? _recoveryHolder;
    private long _recoveryHolderSince;
    private int _recoveryHolderSequence;
    private int _disposed;

    // The monitor: its budget's clock, and the recovery totals its last summary reported.
    private readonly TimeProvider _workClock;
    private long _reportedSucceeded;
    private long _reportedFailed;

    /// <summary>Creates a lease manager.</summary>
    /// <param name="options">The limits in force.</param>
    /// <param name="dataNodes">The DataNodes that run block recovery.</param>
    /// <param name="timeProvider">The clock: monotonic timestamps for every limit.</param>
    /// <param name="logger">Lease transitions at Information, recovery problems at Warning.</param>
    /// <param name="meter">
    /// Where to publish the manager's observable instruments (see <see cref="MeterName"/>); none
    /// when null. The caller owns the meter and disposes it.
    /// </param>
    /// <param name="store">
    /// Where state is persisted. With a store, nothing is served until <see cref="LoadAsync"/>
    /// completes. Without one the manager starts empty, in memory, and serves at once.
    /// </param>
    /// <param name="workClock">
    /// The clock that measures how long the monitor holds the lock (its per-pass budget): real
    /// monotonic time (<see cref="TimeProvider.System"/>) when null, whatever clock
    /// <paramref name="timeProvider"/> is. Tests pass a fake to control it.
    /// </param>
    public LeaseManager(LeaseManagerOptions options, IDataNodeCoordinator dataNodes, TimeProvider timeProvider, ILogger<LeaseManager>? logger = null, Meter? meter = null, ILeaseStore? store = null, TimeProvider? workClock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dataNodes);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.SoftLimit <= TimeSpan.Zero || options.HardLimit < options.SoftLimit)
        {
            throw new ArgumentException("Limits must satisfy 0 < SoftLimit <= HardLimit.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.DeadReplicaGraceAttempts, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBlocksPerFile, 1, nameof(options));

        _options = options;
        _dataNodes = dataNodes;
        _time = timeProvider;
        _workClock = workClock ?? TimeProvider.System;
        _logger = logger ?? NullLogger<LeaseManager>.Instance;
        _softLimit = ToTimestampUnits(options.SoftLimit);
        _hardLimit = ToTimestampUnits(options.HardLimit);
        _recoveryTimeout = ToTimestampUnits(options.RecoveryTimeout);
        _namespace = new FileNamespace(_lock);
        _leases = new LeaseTable(_lock);
        _recoveries = new RecoveryQueue(_lock);

        // Generation stamps (epochs, recovery ids) and block ids continue from the persisted
        // counters (LoadAsync), so a fencing token is never issued twice, across restarts too.
        _store = store ?? new InMemoryLeaseStore();
        _status = store is null ? StorageStatus.Healthy : StorageStatus.Loading;
        _writer = new GroupCommitWriter(_store, OnStorageFailed, OnBatchWritten);
        if (meter is not null)
        {
            CreateInstruments(meter);
            CreateStorageInstruments(meter);
        }
    }

    /// <summary>The limits in force.</summary>
    public LeaseManagerOptions Options => _options;

    /// <summary>
    /// Opens <paramref name="path"/> for write (create, or append to a closed file) and grants
    /// its lease to <paramref name="holder"/>, renewing the holder's whole lease. Idempotent for
    /// the current holder. Another holder within the soft limit: FailedPrecondition. Past it:
    /// lease recovery starts; the caller gets the lease if the file closes at once, else
    /// Unavailable (retry later). Answers once the change is durable.
    /// </summary>
    /// <param name="holder">The holder name.</param>
    /// <param name="path">The path to open.</param>
    /// <param name="clientMachine">The writer's machine, for messages.</param>
    /// <param name="principal">
    /// The authenticated caller, or null without authentication (no ownership checks). A new
    /// holder belongs to it; a holder another principal owns answers PermissionDenied.
    /// </param>
    public ValueTask<Outcome<LeaseView>> AddLeaseAsync(string holder, string path, string? clientMachine, string? principal = null)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path) ?? LeaseValidation.CheckClientMachine(clientMachine);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<LeaseView>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        var machine = clientMachine ?? string.Empty;
        var nodes = _dataNodes.GetDataNodes();
        return WithStoredFileAsync(path, (read, effects) => AddLeaseLocked(holder, path, machine, principal, read, nodes, effects));
    }

    private Outcome<LeaseView>? AddLeaseLocked(string holder, string path, string machine, string? principal, StoreRead? read, IReadOnlyList<DataNodeStatus> nodes, Effects effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (BlockedLocked() is { } blocked)
        {
            return Outcome<LeaseView>.Fail(OutcomeKind.Unavailable, blocked);
        }

        if (OwnerDeniedLocked(holder, principal, effects) is { } denied)
        {
            return Outcome<LeaseView>.Fail(OutcomeKind.PermissionDenied, denied);
        }

        var now = _time.GetTimestamp();
        switch (_namespace.ResolveLocked(path, read, out var found))
        {
            case Resolution.Stale:
                return null;
            case Resolution.Missing:
                var created = new FileEntry(path);
                _namespace.Create(created);
                return Granted(created, holder, machine, principal, now, effects);
        }

        var file = found!;
        effects.Observe(file);
        if (!file.UnderConstruction)
        {
            return Granted(file, holder, machine, principal, now, effects);
        }

        if (file.Recovery is not null)
        {
            return Outcome<LeaseView>.Fail(OutcomeKind.Unavailable, $"lease recovery in progress for {LeaseValidation.Echo(path)}; try again later");
        }

        if (file.Lease!.Holder == holder)
        {
            _leases.Renew(file.Lease, now);
            var view = View(file, now);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                effects.After(() => LogGranted(path, holder, view.Epoch));
            }

            return Outcome<LeaseView>.Ok(view);
        }

        if (now - file.Lease.LastRenewed <= _softLimit)
        {
            return Outcome<LeaseView>.Fail(
                OutcomeKind.FailedPrecondition,
                $"{LeaseValidation.Echo(path)} is currently owned by {LeaseValidation.Echo(file.Lease.Holder)} on {LeaseValidation.Echo(Describe(file.ClientMachine))}");
        }

        // Soft limit passed: recover the path on the new writer's behalf.
        var previousHolder = file.Lease.Holder;
        _counters.Takeovers++;
        effects.After(() => LogSoftLimitTakeover(path, previousHolder, holder));
        if (ReleaseLocked(file, null, now, nodes, fromMonitor: false, effects) == Release.Closed)
        {
            return Granted(file, holder, machine, principal, now, effects);
        }

        return Outcome<LeaseView>.Fail(OutcomeKind.Unavailable, $"lease recovery in progress for {LeaseValidation.Echo(path)}; try again later");
    }

    private Outcome<LeaseView> Granted(FileEntry file, string holder, string machine, string? principal, long now, Effects effects)
    {
        Grant(file, holder, machine, principal, now);
        effects.Change(file);
        var view = View(file, now);
        if (_logger.IsEnabled(LogLevel.Information)) // Off (as under load): no deferred action to allocate.
        {
            effects.After(() => LogGranted(file.Path, holder, view.Epoch));
        }

        return Outcome<LeaseView>.Ok(view);
    }

    /// <summary>
    /// Renews every path of <paramref name="holder"/>; NotFound when it holds nothing,
    /// PermissionDenied when <paramref name="principal"/> is set and another principal owns it.
    /// Never persisted: a renewal answers at once, without I/O. Only the refusals wait: NotFound
    /// for every change decided before it (the one that took the holder's last path may still be
    /// queued, and a renewer takes NotFound for a lost lease, so it must not be told before that
    /// change is durable), PermissionDenied for the grant that made the holder another's.
    /// </summary>
    /// <returns>The number of paths renewed.</returns>
    public ValueTask<Outcome<int>> RenewLeaseAsync(string holder, string? principal = null)
    {
        var invalid = LeaseValidation.CheckHolder(holder);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<int>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        Effects effects;
        Commit? barrier;
        Outcome<int> refusal;
        lock (_lock)
        {
            if (BlockedLocked() is { } blocked)
            {
                return ValueTask.FromResult(Outcome<int>.Fail(OutcomeKind.Unavailable, blocked));
            }

            long named; // The change the refusal names: the owner's grant, or whatever took the holder's last path.
            if (_leases.TryGet(holder, out var lease))
            {
                if (OwnerDeniedLocked(holder, principal, effects: null) is not { } denied)
                {
                    _leases.Renew(lease, _time.GetTimestamp());
                    _counters.Renewals++;
                    return ValueTask.FromResult(Outcome<int>.Ok(lease.Files.Count));
                }

                (named, refusal) = (lease.FirstCommit, Outcome<int>.Fail(OutcomeKind.PermissionDenied, denied));
            }
            else
            {
                (named, refusal) = (_sequence, Outcome<int>.Fail(OutcomeKind.NotFound, $"holder {LeaseValidation.Echo(holder)} holds no leases (never granted, released, or recovered)"));
            }

            effects = new Effects();
            effects.Observe(named);
            barrier = SealLocked(effects);
        }

        return Complete(barrier, effects, refusal);
    }

    /// <summary>
    /// The holder's normal close. Closes the file once its last block is complete (enough
    /// FINALIZED replicas) and returns true; otherwise commits the block (no more data, the
    /// pipeline may still be closed) and returns false, and the holder retries, as HDFS complete.
    /// </summary>
    public ValueTask<Outcome<bool>> RemoveLeaseAsync(string holder, string path, CancellationToken cancellationToken = default)
        => RemoveLeaseAsync(holder, path, principal: null, cancellationToken);

    /// <summary>
    /// <see cref="RemoveLeaseAsync(string, string, CancellationToken)"/> on behalf of
    /// <paramref name="principal"/>: PermissionDenied (nothing changes) when another principal owns the holder.
    /// </summary>
    public async ValueTask<Outcome<bool>> RemoveLeaseAsync(string holder, string path, string? principal, CancellationToken cancellationToken = default)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return Outcome<bool>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        return await WithLastBlockAsync<bool>(holder, path, principal, "close", (file, last, tally, _, effects) =>
        {
            effects.Change(file);
            if (last is not null && tally.Finalized < _options.MinReplication)
            {
                last.State = BlockState.Committed;
                last.NumBytes = tally.Longest;
                return Outcome<bool>.Ok(false);
            }

            if (last is not null)
            {
                last.State = BlockState.Complete;
                last.NumBytes = tally.FinalizedLength;
            }

            CloseLocked(file);
            _counters.Releases++;
            effects.After(() => LogClosed(path, holder));
            return Outcome<bool>.Ok(true);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Allocates a new last block for an open file. Only the lease holder may call it; the
    /// previous last block must be FINALIZED on at least MinReplication DataNodes and becomes
    /// COMPLETE (a refusal changes nothing). A retry whose previous answer was lost (the last block
    /// has no replica anywhere yet) gets that same block back; when none of the last block's
    /// DataNodes is up, that cannot be told, and the answer is Unavailable. The pipeline is up to
    /// ReplicationFactor live DataNodes.
    /// </summary>
    public ValueTask<Outcome<AddBlockResult>> AddBlockAsync(string holder, string path, CancellationToken cancellationToken = default)
        => AddBlockAsync(holder, path, principal: null, cancellationToken);

    /// <summary>
    /// <see cref="AddBlockAsync(string, string, CancellationToken)"/> on behalf of
    /// <paramref name="principal"/>: PermissionDenied (nothing changes) when another principal owns the holder.
    /// </summary>
    public async ValueTask<Outcome<AddBlockResult>> AddBlockAsync(string holder, string path, string? principal, CancellationToken cancellationToken = default)
    {
        var invalid = LeaseValidation.CheckHolder(holder) ?? LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return Outcome<AddBlockResult>.Fail(OutcomeKind.InvalidArgument, invalid);
        }

        return await WithLastBlockAsync<AddBlockResult>(holder, path, principal, "add a block to", (file, last, tally, nodes, effects) =>
        {
            if (last is not null)
            {
                if (last.State == BlockState.UnderConstruction && tally.AtStamp == 0)
                {
                    if (!Array.Exists(last.Locations, id => IsAlive(nodes, id)))
                    {
                        // No replica seen because none of its DataNodes could be asked: they may hold it written.
                        return Outcome<AddBlockResult>.Fail(
                            OutcomeKind.Unavailable,
                            $"none of the DataNodes of block {last.Id} of {LeaseValidation.Echo(path)} is reachable, so whether it was written cannot be told; retry");
                    }

                    // Nothing written anywhere: this is a retry of the call that allocated it (HDFS-3031).
                    _leases.Renew(file.Lease!, _time.GetTimestamp());
                    return Outcome<AddBlockResult>.Ok(new AddBlockResult(ToView(last), file.Epoch));
                }
            }

            // With or without a block in progress: a file appended to has only COMPLETE blocks.
            if (file.Blocks is { } blocks && blocks.Count >= _options.MaxBlocksPerFile)
            {
                return Outcome<AddBlockResult>.Fail(
                    OutcomeKind.FailedPrecondition,
                    $"{LeaseValidation.Echo(path)} has {blocks.Count} blocks, the most a file may have ({_options.MaxBlocksPerFile}); close it and write on in another file");
            }

            if (last is not null)
            {
                if (tally.Finalized == 0)
                {
                    return Outcome<AddBlockResult>.Fail(
                        OutcomeKind.FailedPrecondition,
                        $"block {last.Id} of {LeaseValidation.Echo(path)} is not FINALIZED on any DataNode; close its pipeline (finalize) before adding the next");
                }

                if (tally.Finalized < _options.MinReplication)
                {
                    return Outcome<AddBlockResult>.Fail(
                        OutcomeKind.Unavailable,
                        $"block {last.Id} of {LeaseValidation.Echo(path)} is FINALIZED on {tally.Finalized} of the {_options.MinReplication} DataNodes it needs; waiting for replicas, retry");
                }
            }

            var pipeline = ChoosePipeline(nodes);
            if (pipeline.Length < _options.MinReplication)
            {
                return Outcome<AddBlockResult>.Fail(
                    OutcomeKind.Unavailable,
                    $"too few live DataNodes for a new block: {pipeline.Length} live, {_options.MinReplication} needed");
            }

            if (last is not null)
            {
                last.State = BlockState.Complete;
                last.NumBytes = tally.FinalizedLength;
            }

            effects.Change(file);
            var block = new BlockEntry(++_lastBlockId, ++_generationStamp, pipeline, file);
            _namespace.AppendBlock(block);
            _leases.Renew(file.Lease!, _time.GetTimestamp());
            return Outcome<AddBlockResult>.Ok(new AddBlockResult(ToView(block), file.Epoch));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops background recoveries (in-flight DataNode calls are cancelled) and the writer (queued
    /// commits finish). The store is the caller's to dispose.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // Idempotent: the host may dispose it as several services.
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _recoveryTasks.WhenIdleAsync().ConfigureAwait(false);
        await _writer.StopAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _restoreGate.Dispose();
    }

    /// <summary>Completes when no block recovery dispatched so far is still running (tests, shutdown).</summary>
    public Task WhenRecoveriesIdleAsync() => _recoveryTasks.WhenIdleAsync();

    /// <summary>
    /// The ownership rule: with a <paramref name="principal"/>, a holder name that currently
    /// holds leases may be used only by the principal that owns it. Null when allowed, else why
    /// not. Ownerless holders (taken without authentication) are anyone's. A refusal names the
    /// owner's grant: it is answered once that grant is durable (observed in <paramref name="effects"/>;
    /// a caller that passes none observes <see cref="Lease.FirstCommit"/> itself).
    /// </summary>
    private string? OwnerDeniedLocked(string holder, string? principal, Effects? effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (principal is null || !_leases.TryGet(holder, out var lease) || lease.Principal is null || lease.Principal == principal)
        {
            return null;
        }

        effects?.Observe(lease.FirstCommit);
        return $"holder {LeaseValidation.Echo(holder)} belongs to another principal";
    }

    private Outcome<bool> CheckWriter(string holder, string path, string? principal, string operation, Effects effects, out FileEntry? file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        file = null;
        if (BlockedLocked() is { } blocked)
        {
            return Outcome<bool>.Fail(OutcomeKind.Unavailable, blocked);
        }

        if (OwnerDeniedLocked(holder, principal, effects) is { } denied)
        {
            return Outcome<bool>.Fail(OutcomeKind.PermissionDenied, denied);
        }

        if (!_namespace.TryGetFile(path, out file) || !file.UnderConstruction)
        {
            return Outcome<bool>.Fail(OutcomeKind.NotFound, $"{LeaseValidation.Echo(path)} is not open for write");
        }

        if (file.Recovery is not null)
        {
            return Outcome<bool>.Fail(OutcomeKind.FailedPrecondition, $"cannot {operation} {LeaseValidation.Echo(path)}: lease recovery is in progress");
        }

        if (file.Lease!.Holder != holder)
        {
            return Outcome<bool>.Fail(
                OutcomeKind.FailedPrecondition,
                $"cannot {operation} {LeaseValidation.Echo(path)}: {LeaseValidation.Echo(holder)} is not the lease holder (held by {LeaseValidation.Echo(file.Lease.Holder)} on {LeaseValidation.Echo(Describe(file.ClientMachine))})");
        }

        return Outcome<bool>.Ok(true);
    }

    /// <summary>
    /// The two-phase shape of AddBlock and RemoveLease: check the writer and snapshot the last
    /// block under the lock; ask the DataNodes for its replicas outside it (when it is not yet
    /// complete); then, under the lock again, check that nothing changed meanwhile and
    /// <paramref name="apply"/> the operation. A concurrent change answers Unavailable (retry).
    /// </summary>
    private async ValueTask<Outcome<T>> WithLastBlockAsync<T>(
        string holder,
        string path,
        string? principal,
        string operation,
        Func<FileEntry, BlockEntry?, ReplicaTally, IReadOnlyList<DataNodeStatus>, Effects, Outcome<T>> apply,
        CancellationToken cancellationToken)
    {
        BlockEntry? last;
        long stamp;
        BlockState state;
        string[] locations;
        Commit? refusal = null;
        var refused = new Effects();
        Outcome<T> refusedOutcome = default;
        lock (_lock)
        {
            var check = CheckWriter(holder, path, principal, operation, refused, out var file);
            if (!check.IsOk)
            {
                ObserveLocked(refused, path, file); // The refusal names state: answer once that state is durable.

                refusedOutcome = check.As<T>();
                refusal = SealLocked(refused);
                last = null;
                (stamp, state, locations) = (0, default, []);
            }
            else
            {
                last = file!.LastBlock is { State: not BlockState.Complete } pending ? pending : null;
                (stamp, state, locations) = last is null ? (0, default, []) : (last.GenerationStamp, last.State, last.Locations);
            }
        }

        if (!refusedOutcome.IsOk)
        {
            return await Complete(refusal, refused, refusedOutcome).ConfigureAwait(false);
        }

        var replicas = last is null
            ? []
            : await _dataNodes.GetReplicasAsync(last.Id, locations, cancellationToken).ConfigureAwait(false);
        var nodes = _dataNodes.GetDataNodes();
        var effects = new Effects();
        Outcome<T> outcome;
        Commit? commit;
        lock (_lock)
        {
            outcome = Apply();
            commit = SealLocked(effects);
        }

        return await Complete(commit, effects, outcome).ConfigureAwait(false);

        Outcome<T> Apply()
        {
            var check = CheckWriter(holder, path, principal, operation, effects, out var file);
            ObserveLocked(effects, path, file);
            if (!check.IsOk)
            {
                return check.As<T>();
            }

            var current = file!.LastBlock is { State: not BlockState.Complete } pending ? pending : null;
            if (!ReferenceEquals(current, last) || (last is not null && (last.GenerationStamp != stamp || last.State != state)))
            {
                return Outcome<T>.Fail(OutcomeKind.Unavailable, $"the last block of {LeaseValidation.Echo(path)} changed while this call ran; retry");
            }

            return apply(file, last, last is null ? default : Tally(last, replicas), nodes, effects);
        }
    }

    /// <summary>
    /// The answer depends on <paramref name="path"/>'s state: it waits for the file's pending
    /// record, or, when the file is not in memory, for the delete that took it out (if queued).
    /// </summary>
    private void ObserveLocked(Effects effects, string path, FileEntry? file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        effects.Observe(file is null ? _namespace.PendingDelete(path) : file.PendingSequence);
    }

    /// <summary>
    /// What the replica reports say of a block at its generation stamp: FINALIZED replicas that
    /// disagree are decided as block recovery decides them, by the longest (replicas are prefixes of
    /// one another; a shorter one missed bytes the writer had acknowledged), and only the replicas
    /// of that length count, whatever order the DataNodes answered in.
    /// </summary>
    private readonly record struct ReplicaTally(int Finalized, long FinalizedLength, int AtStamp, long Longest);

    private static ReplicaTally Tally(BlockEntry block, IReadOnlyList<ReplicaReport> replicas)
    {
        int finalized = 0, atStamp = 0;
        long finalizedLength = -1, longest = 0;
        foreach (var replica in replicas)
        {
            if (replica.GenerationStamp != block.GenerationStamp)
            {
                continue;
            }

            atStamp++;
            longest = Math.Max(longest, replica.NumBytes);
            if (replica.State == ReplicaState.Finalized && replica.NumBytes >= finalizedLength)
            {
                finalized = replica.NumBytes == finalizedLength ? finalized + 1 : 1;
                finalizedLength = replica.NumBytes;
            }
        }

        return new ReplicaTally(finalized, Math.Max(finalizedLength, 0), atStamp, longest);
    }

    /// <summary>Whether DataNode <paramref name="id"/> is among <paramref name="nodes"/> and alive.</summary>
    private static bool IsAlive(IReadOnlyList<DataNodeStatus> nodes, string id) => nodes.Any(n => n.IsAlive && n.Id == id);

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
        var start = live.Count == 0 ? 0 : (int)(_pipelineCursor++ % (uint)live.Count);
        for (var i = 0; i < size; i++)
        {
            pipeline[i] = live[(start + i) % live.Count];
        }

        return pipeline;
    }

    private void Grant(FileEntry file, string holder, string machine, string? principal, long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!file.UnderConstruction)
        {
            _namespace.MarkOpen(file);
        }
        else
        {
            _leases.Detach(file);
        }

        var lease = _leases.Attach(file, holder, now, principal);
        var other = lease.Files.Any!;
        file.ClientMachine = ReferenceEquals(other, file) || other.ClientMachine != machine
            ? machine
            : other.ClientMachine; // Share one string per holder: a million files, one machine name.
        file.Epoch = ++_generationStamp;
        _counters.Grants++;
    }

    private void CloseLocked(FileEntry file)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        _leases.Detach(file);
        _namespace.MarkClosed(file);
        _recoveries.End(file);
    }

    private long ToTimestampUnits(TimeSpan duration)
        => (long)((decimal)duration.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond);

    private static string Describe(string machine) => machine.Length == 0 ? "an unknown machine" : machine;
}
