using System.Diagnostics;
using System.Globalization;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;

namespace LeaseService.Core;

public sealed partial class LeaseManager
{
    private enum Release
    {
        /// <summary>The file is closed; its lease is released.</summary>
        Closed,

        /// <summary>Block recovery started (or could not find a primary and waits for a retry).</summary>
        RecoveryStarted,

        /// <summary>A recovery younger than the recovery timeout is already under way.</summary>
        InProgress,
    }

    /// <summary>What a block-recovery attempt needs once the lock is released.</summary>
    private enum AttemptNote
    {
        /// <summary>Send <see cref="Attempt.Command"/> to its primary.</summary>
        Dispatched,

        /// <summary>No live DataNode holds a replica; the attempt waits for the retry.</summary>
        NoLivePrimary,

        /// <summary>After the grace attempts no replica was on a live DataNode: the last block was dropped and the file closed.</summary>
        DroppedUnreachableBlock,
    }

    private readonly record struct Attempt(string Path, AttemptNote Note, BlockRecoveryCommand? Command, long BlockId, int Attempts);

    /// <summary>
    /// Recovers the lease of <paramref name="path"/>. A closed file: closed=true. Within the soft
    /// limit and not <paramref name="force"/>: FailedPrecondition. Otherwise recovery starts: the
    /// lease moves to <paramref name="requester"/> (or the service's recovery holder), the epoch
    /// increases, and the file closes now if nothing is left to recover; else closed=false and
    /// the caller polls. Repeated calls never start a second concurrent recovery.
    /// </summary>
    public ValueTask<Outcome<RecoverResult>> RecoverLeaseAsync(string path, string? requester, bool force)
        => RecoverLeaseAsync(path, requester, force, principal: null);

    /// <summary>
    /// <see cref="RecoverLeaseAsync(string, string?, bool)"/> on behalf of
    /// <paramref name="principal"/>: a <paramref name="requester"/> holder another principal owns
    /// answers PermissionDenied (nothing changes); a new requester holder belongs to the principal.
    /// Whether the principal may force is the caller's decision (admins only).
    /// </summary>
    public ValueTask<Outcome<RecoverResult>> RecoverLeaseAsync(string path, string? requester, bool force, string? principal)
    {
        var invalid = LeaseValidation.CheckPath(path) ?? (string.IsNullOrEmpty(requester) ? null : LeaseValidation.CheckHolder(requester, "requester"));
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<RecoverResult>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        var nodes = _dataNodes.GetDataNodes();
        return WithStoredFileAsync(path, (read, effects) => RecoverLeaseLocked(path, string.IsNullOrEmpty(requester) ? null : requester, force, principal, read, nodes, effects));
    }

    private Outcome<RecoverResult>? RecoverLeaseLocked(string path, string? requester, bool force, string? principal, StoreRead? read, IReadOnlyList<DataNodeStatus> nodes, Effects effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (BlockedLocked() is { } blocked)
        {
            return Outcome<RecoverResult>.Fail(OutcomeKind.Unavailable, blocked);
        }

        if (requester is not null && OwnerDeniedLocked(requester, principal) is { } denied)
        {
            return Outcome<RecoverResult>.Fail(OutcomeKind.PermissionDenied, denied);
        }

        var now = _time.GetTimestamp();
        switch (_namespace.ResolveLocked(path, read, out var found))
        {
            case Resolution.Stale:
                return null;
            case Resolution.Missing:
                effects.Observe(_namespace.PendingDelete(path));
                return Outcome<RecoverResult>.Fail(OutcomeKind.NotFound, $"{LeaseValidation.Echo(path)} does not exist");
        }

        var file = found!;
        effects.Observe(file);
        if (!file.UnderConstruction)
        {
            return Outcome<RecoverResult>.Ok(new RecoverResult(true, null, file.Length));
        }

        if (file.Recovery is null && !force && now - file.Lease!.LastRenewed <= _softLimit)
        {
            return Outcome<RecoverResult>.Fail(
                OutcomeKind.FailedPrecondition,
                $"{LeaseValidation.Echo(path)} is held by {LeaseValidation.Echo(file.Lease.Holder)} on {LeaseValidation.Echo(Describe(file.ClientMachine))} within the soft limit; wait for it to expire or use force");
        }

        var from = file.Lease!.Holder;
        var mark = effects.AfterCount;
        var release = ReleaseLocked(file, requester, now, nodes, fromMonitor: false, effects, requester is null ? null : principal);
        if (release != Release.InProgress)
        {
            _counters.RecoveryRequests++;
            effects.AfterInsert(mark, () => LogRecoverLease(path, from, requester ?? "(service)", force));
        }

        return Outcome<RecoverResult>.Ok(release == Release.Closed
            ? new RecoverResult(true, null, file.Length)
            : new RecoverResult(false, View(file, now), file.Length));
    }

    /// <summary>
    /// One monitor pass: retries block recoveries older than the recovery timeout (a new recovery
    /// id and the next primary), then releases leases past the hard limit, oldest first, through
    /// lease recovery. Stops when <paramref name="budget"/> is spent; the rest waits for the next
    /// pass. O(work done). Completes once its changes are durable and their DataNode calls sent.
    /// </summary>
    public async Task<MonitorPassResult> RunMonitorPassAsync(TimeSpan budget)
    {
        var start = _time.GetTimestamp();
        var nodes = _dataNodes.GetDataNodes();
        int examined = 0, closed = 0, started = 0, retried = 0;
        var exhausted = false;

        // Retries first: they are few (one per file under recovery per timeout) and must not
        // starve behind a mass expiry.
        while (!exhausted)
        {
            var effects = new Effects();
            Commit? commit;
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                var head = _recoveries.Oldest;
                if (BlockedLocked() is not null || head is null || now - head.AttemptStarted <= _recoveryTimeout)
                {
                    break;
                }

                var attempt = StartAttemptLocked(head.File, head.File.LastBlock!, now, nodes, effects);
                retried++;
                closed += attempt.Note == AttemptNote.DroppedUnreachableBlock ? 1 : 0;
                commit = SealLocked(effects);
            }

            exhausted = await FlushAsync(commit, effects, start, budget).ConfigureAwait(false);
        }

        // Leases past the hard limit, oldest first, a batch of files per lock hold.
        while (!exhausted)
        {
            var effects = new Effects();
            Commit? commit;
            lock (_lock)
            {
                var now = _time.GetTimestamp();
                var head = _leases.Oldest;
                if (BlockedLocked() is not null || head is null || now - head.LastRenewed <= _hardLimit)
                {
                    break;
                }

                examined++;
                var batch = Math.Max(1, _options.MonitorBatchSize);
                var recoveryHolder = RecoveryHolderLocked(now);
                while (batch-- > 0 && head.Files.Any is { } file)
                {
                    _counters.Expiries++;
                    var (path, holder) = (file.Path, head.Holder);
                    effects.After(() => LogHardLimitExpired(path, holder));
                    var release = ReleaseLocked(file, recoveryHolder, now, nodes, fromMonitor: true, effects);
                    closed += release == Release.Closed ? 1 : 0;
                    started += release == Release.RecoveryStarted ? 1 : 0;
                    if (ReferenceEquals(file.Lease, head))
                    {
                        // Never spin on a lease whose file could not move (HDFS-4882): send it to
                        // the back of the index and carry on with the next one.
                        _leases.Renew(head, now);
                        break;
                    }
                }

                commit = SealLocked(effects);
            }

            exhausted = await FlushAsync(commit, effects, start, budget).ConfigureAwait(false);
        }

        return new MonitorPassResult(examined, closed, started, retried, exhausted);
    }

    /// <summary>Waits for a locked step's records, then logs and dispatches; true when the budget is spent.</summary>
    private async ValueTask<bool> FlushAsync(Commit? commit, Effects effects, long start, TimeSpan budget)
    {
        if (commit is not null && await commit.Durable.ConfigureAwait(false) is not null)
        {
            return true; // The store failed: the state reloads once it works again; stop this pass.
        }

        effects.RunAfter();
        return _time.GetElapsedTime(start) > budget;
    }

    /// <summary>
    /// HDFS internalReleaseLease: close the file at once if nothing is left to recover, else start
    /// (or keep) block recovery of its last block with the lease on a recovery holder.
    /// </summary>
    private Release ReleaseLocked(FileEntry file, string? recoveryHolder, long now, IReadOnlyList<DataNodeStatus> nodes, bool fromMonitor, Effects effects, string? owner = null)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        effects.Change(file);
        var holder = recoveryHolder ?? RecoveryHolderLocked(now);

        if (file.Recovery is { } running && now - running.AttemptStarted <= _recoveryTimeout)
        {
            // One recovery at a time per block. The monitor still moves the file off the
            // expired lease it is draining, so every pass makes progress.
            if (fromMonitor)
            {
                ReassignLocked(file, holder, now, owner);
            }

            return Release.InProgress;
        }

        var last = file.LastBlock;
        Debug.Assert(
            file.Blocks is null || file.Blocks.Count < 2 || file.Blocks[^2].State == BlockState.Complete,
            "Only the last block may be incomplete.");
        if (last is null || last.State == BlockState.Complete)
        {
            file.Epoch = ++_generationStamp;
            CloseLocked(file);
            var (path, epoch) = (file.Path, file.Epoch);
            effects.After(() => LogClosedByRecovery(path, epoch));
            return Release.Closed;
        }

        ReassignLocked(file, holder, now, owner);
        var attempt = StartAttemptLocked(file, last, now, nodes, effects);
        if (attempt.Note != AttemptNote.DroppedUnreachableBlock)
        {
            return Release.RecoveryStarted;
        }

        if (!fromMonitor)
        {
            var (droppedPath, droppedEpoch) = (file.Path, file.Epoch);
            effects.After(() => LogClosedByRecovery(droppedPath, droppedEpoch));
        }

        return Release.Closed;
    }

    /// <summary>
    /// Starts a block-recovery attempt: a new recovery id (generation stamp) that is also the
    /// file's new epoch, the block UNDER_RECOVERY, and a primary among live replicas not yet
    /// tried (most recent heartbeat first). The first <c>DeadReplicaGraceAttempts</c> attempts
    /// ask every replica location, so replicas on DataNodes that are down for a while are waited
    /// for; later attempts leave out DataNodes that are down, and when none of the locations is
    /// up the last block is dropped and the file closed: bounded, never looping forever.
    /// </summary>
    private Attempt StartAttemptLocked(FileEntry file, BlockEntry last, long now, IReadOnlyList<DataNodeStatus> nodes, Effects effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        effects.Change(file);
        var attempt = NextAttemptLocked(file, last, now, nodes);
        effects.After(() => Follow(attempt));
        return attempt;
    }

    private Attempt NextAttemptLocked(FileEntry file, BlockEntry last, long now, IReadOnlyList<DataNodeStatus> nodes)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var recovery = _recoveries.BeginAttempt(file);

        var locations = last.Locations;
        if (recovery.Attempts >= _options.DeadReplicaGraceAttempts)
        {
            locations = Array.FindAll(locations, id => nodes.Any(n => n.IsAlive && n.Id == id));
            if (locations.Length == 0)
            {
                var attempts = recovery.Attempts;
                _namespace.RemoveBlock(last);
                file.Epoch = ++_generationStamp;
                CloseLocked(file);
                return new Attempt(file.Path, AttemptNote.DroppedUnreachableBlock, null, last.Id, attempts);
            }
        }

        var recoveryId = ++_generationStamp;
        recovery.AttemptStarted = now;
        recovery.Attempts++;
        if (recovery.Attempts == 1)
        {
            _counters.RecoveriesStarted++;
        }
        else
        {
            _counters.RecoveriesRetried++;
        }
        var primary = RecoveryQueue.ChoosePrimary(recovery, locations, nodes);
        last.State = BlockState.UnderRecovery;
        last.RecoveryId = recoveryId;
        file.Epoch = recoveryId;
        _counters.RecoveriesFailed += primary is null ? 1 : 0;
        return primary is null
            ? new Attempt(file.Path, AttemptNote.NoLivePrimary, null, last.Id, recovery.Attempts)
            : new Attempt(file.Path, AttemptNote.Dispatched, new BlockRecoveryCommand(last.Id, last.GenerationStamp, recoveryId, primary, locations), last.Id, recovery.Attempts);
    }

    private void ReassignLocked(FileEntry file, string holder, long now, string? owner)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (file.Lease!.Holder == holder)
        {
            return;
        }

        _leases.Detach(file);
        _leases.Attach(file, holder, now, owner);
        file.ClientMachine = string.Empty;
    }

    /// <summary>
    /// The service's own holder for leases under recovery. Its name rotates once it is older than
    /// the hard limit, so new recoveries cannot keep one recovery lease alive forever (HDFS-11817).
    /// </summary>
    private string RecoveryHolderLocked(long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (_recoveryHolder is null || now - _recoveryHolderSince > _hardLimit)
        {
            _recoveryHolder = LeaseValidation.RecoveryHolderPrefix
                + _time.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)
                + "-" + (++_recoveryHolderSequence).ToString(CultureInfo.InvariantCulture);
            _recoveryHolderSince = now;
        }

        return _recoveryHolder;
    }

    /// <summary>
    /// After the lock: sends an attempt's command to its primary in the background (the answer is
    /// applied when it comes), or logs why there is none.
    /// </summary>
    private void Follow(Attempt attempt)
    {
        switch (attempt)
        {
            case { Note: AttemptNote.Dispatched, Command: { } command } a:
                LogRecoveryStarted(a.Path, command.BlockId, command.RecoveryId, command.PrimaryDataNodeId, string.Join(",", command.Locations));
                _recoveryTasks.Track(RunRecoveryAsync(command, a.Path));
                break;
            case { Note: AttemptNote.NoLivePrimary } a:
                LogRecoveryNoPrimary(a.Path, a.BlockId, a.Attempts);
                break;
            case { Note: AttemptNote.DroppedUnreachableBlock } a:
                LogDroppedUnreachableBlock(a.Path, a.BlockId, a.Attempts);
                break;
        }
    }

    private async Task RunRecoveryAsync(BlockRecoveryCommand command, string path)
    {
        BlockRecoveryResult result;
        try
        {
            await Task.Yield();
            result = await _dataNodes.RecoverBlockAsync(command, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            result = new BlockRecoveryFailed(command.BlockId, command.RecoveryId, BlockRecoveryFailure.PrimaryUnavailable, ex.Message, [command.PrimaryDataNodeId]);
        }

        await ApplyRecoveryResultAsync(result, path).ConfigureAwait(false);
    }

    /// <summary>
    /// HDFS commitBlockSynchronization: a commit whose recovery id is current updates the block
    /// (or removes it) and closes the file; a stale or duplicate one changes nothing.
    /// </summary>
    internal async Task ApplyRecoveryResultAsync(BlockRecoveryResult result, string path)
    {
        bool applied;
        Commit? commit;
        var effects = new Effects();
        lock (_lock)
        {
            BlockEntry? block = null;
            applied = BlockedLocked() is null
                && _namespace.TryGetBlock(result.BlockId, out block)
                && block.File.Recovery is { } recovery
                && block.State == BlockState.UnderRecovery
                && block.RecoveryId == result.RecoveryId;
            if (applied)
            {
                var file = block!.File;
                effects.Change(file);
                switch (result)
                {
                    case BlockRecoveryCommitted { DeleteBlock: true }:
                        _namespace.RemoveBlock(block);
                        CloseLocked(file);
                        _counters.RecoveriesSucceeded++;
                        break;
                    case BlockRecoveryCommitted committed:
                        block.GenerationStamp = committed.RecoveryId;
                        block.NumBytes = committed.NewLength;
                        block.Locations = [.. committed.Locations];
                        block.State = BlockState.Complete;
                        CloseLocked(file);
                        _counters.RecoveriesSucceeded++;
                        break;
                    case BlockRecoveryFailed:
                        _counters.RecoveriesFailed++; // Logged below; the monitor retries after the recovery timeout.
                        break;
                }
            }

            commit = SealLocked(effects);
        }

        if (commit is not null && await commit.Durable.ConfigureAwait(false) is not null)
        {
            return; // Not durable: the reload after the store recovers resumes this recovery anew.
        }

        switch (result)
        {
            case BlockRecoveryCommitted committed when applied:
                LogRecoveryCommitted(path, committed.BlockId, committed.RecoveryId, committed.NewLength, committed.DeleteBlock, string.Join(",", committed.Locations));
                break;
            case BlockRecoveryFailed failed when applied:
                LogRecoveryFailed(path, failed.BlockId, failed.RecoveryId, failed.Reason, failed.Message);
                break;
            default:
                LogStaleRecoveryResult(path, result.BlockId, result.RecoveryId);
                break;
        }
    }
}
