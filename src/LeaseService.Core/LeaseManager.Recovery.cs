using System.Diagnostics;
using System.Globalization;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using Microsoft.Extensions.Logging;

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

    private readonly record struct Attempt(string Path, AttemptNote Note, BlockRecoveryCommand? Command, long BlockId, int Attempts, bool ByMonitor);

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

        if (requester is not null && OwnerDeniedLocked(requester, principal, effects) is { } denied)
        {
            return Outcome<RecoverResult>.Fail(OutcomeKind.PermissionDenied, denied);
        }

        var now = _time.GetTimestamp();
        if (!TryResolveExistingLocked(path, read, effects, out var file, out Outcome<RecoverResult>? answer))
        {
            return answer;
        }
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
    /// lease recovery, in batches of <see cref="LeaseManagerOptions.MonitorBatchSize"/> files per
    /// lock hold. The lock is released (and the thread yielded) between batches; the pass stops
    /// once the time it held the lock, measured on the work clock (real monotonic time, whatever
    /// clock decides expiry), exceeds <paramref name="budget"/>. Each batch's records go to the
    /// group-commit writer as one commit without waiting, so a pass costs a few synced writes, not
    /// one per file; the pass completes once they are durable and its DataNode calls sent, and
    /// logs one Information summary when it did work. O(work done).
    /// </summary>
    public async Task<MonitorPassResult> RunMonitorPassAsync(TimeSpan budget)
    {
        var passStart = _workClock.GetTimestamp();
        var budgetTicks = (long)(budget.Ticks * (decimal)_workClock.TimestampFrequency / TimeSpan.TicksPerSecond);
        var nodes = _dataNodes.GetDataNodes();
        var tally = new PassTally();
        var steps = new List<(Commit? Commit, Effects Effects)>();
        long held = 0;
        var more = true;
        while (more)
        {
            var effects = new Effects();
            Commit? commit;
            lock (_lock)
            {
                var holdStart = _workClock.GetTimestamp();
                more = RunMonitorBatchLocked(nodes, effects, ref tally);
                commit = SealLocked(effects);
                held += _workClock.GetTimestamp() - holdStart;
            }

            tally.Batches++;
            steps.Add((commit, effects));
            if (more && held > budgetTicks)
            {
                tally.Exhausted = true;
                break;
            }

            if (more)
            {
                await Task.Yield(); // Let callers waiting for the lock (or a thread) in before the next batch.
            }
        }

        // Durable in decision order; each step's logs and DataNode calls only once it is.
        foreach (var (commit, effects) in steps)
        {
            if (commit is not null && await commit.Durable.ConfigureAwait(false) is not null)
            {
                tally.Exhausted = false; // The store failed: the state reloads once it works again.
                break;
            }

            effects.RunAfter();
        }

        int backlog;
        TimeSpan oldestOverdue;
        long committed, failed;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            backlog = _leases.CountOverdueFiles(now - _hardLimit);
            oldestOverdue = _leases.Oldest is { } head && now - head.LastRenewed > _hardLimit
                ? _time.GetElapsedTime(head.LastRenewed, now) - _options.HardLimit
                : TimeSpan.Zero;
            (committed, failed) = (_counters.RecoveriesSucceeded - _reportedSucceeded, _counters.RecoveriesFailed - _reportedFailed);
            (_reportedSucceeded, _reportedFailed) = (_counters.RecoveriesSucceeded, _counters.RecoveriesFailed);
        }

        var result = new MonitorPassResult
        {
            LeasesExamined = tally.Leases,
            FilesExpired = tally.Expired,
            FilesClosed = tally.Closed,
            RecoveriesStarted = tally.Started,
            RecoveriesRetried = tally.Retried,
            RecoveriesCommitted = committed,
            RecoveriesFailed = failed,
            BacklogFiles = backlog,
            OldestOverdue = oldestOverdue,
            Batches = tally.Batches,
            LockHeld = _workClock.GetElapsedTime(0, held),
            Elapsed = _workClock.GetElapsedTime(passStart),
            BudgetExhausted = tally.Exhausted,
        };
        if (result.DidWork)
        {
            LogMonitorPass(
                result.FilesExpired, result.LeasesExamined, result.FilesClosed, result.RecoveriesStarted, result.RecoveriesRetried,
                result.RecoveriesCommitted, result.RecoveriesFailed, result.BacklogFiles, result.OldestOverdue.TotalSeconds,
                result.LockHeld.TotalMilliseconds, result.Batches, result.Elapsed.TotalMilliseconds);
        }

        return result;
    }

    /// <summary>
    /// The most blocks one monitor batch changes before it lets the lock go (besides
    /// <see cref="LeaseManagerOptions.MonitorBatchSize"/> files): a changed file's record holds all
    /// its blocks and is encoded under the lock, so 128 files of 10,240 blocks each would hold it for
    /// about 0.3 s. At least one file per batch, whatever its size.
    /// </summary>
    internal const int MonitorBatchBlocks = 16 * 1024;

    /// <summary>What a monitor pass has done so far.</summary>
    private struct PassTally
    {
        public int Leases;
        public int Expired;
        public int Closed;
        public int Started;
        public int Retried;
        public int Batches;
        public bool Exhausted;
        public Lease? LastHead;
    }

    /// <summary>
    /// One lock hold of a monitor pass: up to <see cref="LeaseManagerOptions.MonitorBatchSize"/>
    /// files (and fewer than the store's <see cref="Storage.ILeaseStore.MaxKeysPerBatch"/>),
    /// overdue block-recovery retries first (they are few, one per file under recovery per
    /// timeout, and must not starve behind a mass expiry), then files of leases past the hard
    /// limit, oldest lease first. True when work that is due is left for another batch; false when
    /// none is (or the state is not writable).
    /// </summary>
    private bool RunMonitorBatchLocked(IReadOnlyList<DataNodeStatus> nodes, Effects effects, ref PassTally tally)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (BlockedLocked() is not null)
        {
            return false;
        }

        var now = _time.GetTimestamp();
        // A batch's records (one per file, and the counters) are one commit: within the store's
        // limit, so the commit is one atomic write (etcd: one transaction of at most 128 keys).
        var budget = Math.Max(1, Math.Min(_options.MonitorBatchSize, _store.MaxKeysPerBatch - 1));
        var blocks = MonitorBatchBlocks; // Each changed file's whole record is encoded under the lock: bounded in blocks too.
        while (budget > 0 && blocks > 0 && _recoveries.Oldest is { } due && now - due.AttemptStarted > _recoveryTimeout)
        {
            budget--;
            blocks -= due.File.Blocks?.Count ?? 0;
            var attempt = StartAttemptLocked(due.File, due.File.LastBlock!, now, nodes, effects, byMonitor: true);
            tally.Retried++;
            tally.Closed += attempt.Note == AttemptNote.DroppedUnreachableBlock ? 1 : 0;
        }

        string? recoveryHolder = null;
        var debug = _logger.IsEnabled(LogLevel.Debug);
        while (budget > 0 && blocks > 0)
        {
            var head = _leases.Oldest;
            if (head is null || now - head.LastRenewed <= _hardLimit)
            {
                break;
            }

            if (head.Holder.StartsWith(LeaseValidation.RecoveryHolderPrefix, StringComparison.Ordinal))
            {
                // The service's own recovery holder (a reserved name): its files are under block
                // recovery, retried on their own timeout above, and leave it when they close. It
                // does not expire: sent to the back, not counted, nothing rewritten.
                budget--;
                _leases.Renew(head, now);
                continue;
            }

            if (!ReferenceEquals(head, tally.LastHead))
            {
                tally.Leases++;
                tally.LastHead = head;
            }

            recoveryHolder ??= RecoveryHolderLocked(now);
            while (budget > 0 && blocks > 0 && head.Files.Any is { } file)
            {
                budget--;
                blocks -= file.Blocks?.Count ?? 0;
                _counters.Expiries++;
                tally.Expired++;
                if (debug)
                {
                    var (path, holder) = (file.Path, head.Holder);
                    effects.After(() => LogHardLimitExpired(path, holder));
                }

                var release = ReleaseLocked(file, recoveryHolder, now, nodes, fromMonitor: true, effects);
                tally.Closed += release == Release.Closed ? 1 : 0;
                tally.Started += release == Release.RecoveryStarted ? 1 : 0;
                if (ReferenceEquals(file.Lease, head))
                {
                    // Never spin on a lease whose file could not move (HDFS-4882): send it to
                    // the back of the index and carry on with the next one.
                    _leases.Renew(head, now);
                    break;
                }
            }
        }

        return MonitorWorkDueLocked(now);
    }

    /// <summary>Whether a lease is past the hard limit or a block-recovery attempt past the recovery timeout.</summary>
    private bool MonitorWorkDueLocked(long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        return (_leases.Oldest is { } lease && now - lease.LastRenewed > _hardLimit)
            || (_recoveries.Oldest is { } recovery && now - recovery.AttemptStarted > _recoveryTimeout);
    }

    /// <summary>
    /// HDFS internalReleaseLease: close the file at once if nothing is left to recover, else start
    /// (or keep) block recovery of its last block with the lease on a recovery holder.
    /// </summary>
    private Release ReleaseLocked(FileEntry file, string? recoveryHolder, long now, IReadOnlyList<DataNodeStatus> nodes, bool fromMonitor, Effects effects, string? owner = null)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var holder = recoveryHolder ?? RecoveryHolderLocked(now);

        if (file.Recovery is { } running && now - running.AttemptStarted <= _recoveryTimeout)
        {
            // One recovery at a time per block. The monitor still moves the file off the
            // expired lease it is draining, so every pass makes progress; a caller polling
            // RecoverLease changes nothing (and writes nothing), it waits for the attempt's record.
            if (fromMonitor)
            {
                effects.Change(file);
                ReassignLocked(file, holder, now, owner);
            }
            else
            {
                effects.Observe(file);
            }

            return Release.InProgress;
        }

        effects.Change(file);

        var last = file.LastBlock;
        Debug.Assert(
            file.Blocks is null || file.Blocks.Count < 2 || file.Blocks[^2].State == BlockState.Complete,
            "Only the last block may be incomplete.");
        if (last is null || last.State == BlockState.Complete)
        {
            file.Epoch = ++_generationStamp;
            CloseLocked(file);
            var level = fromMonitor ? LogLevel.Debug : LogLevel.Information;
            if (_logger.IsEnabled(level))
            {
                var (path, epoch) = (file.Path, file.Epoch);
                effects.After(() => LogClosedByRecovery(level, path, epoch));
            }

            return Release.Closed;
        }

        ReassignLocked(file, holder, now, owner);
        var attempt = StartAttemptLocked(file, last, now, nodes, effects, fromMonitor);
        if (attempt.Note != AttemptNote.DroppedUnreachableBlock)
        {
            return Release.RecoveryStarted;
        }

        if (!fromMonitor)
        {
            var (droppedPath, droppedEpoch) = (file.Path, file.Epoch);
            effects.After(() => LogClosedByRecovery(LogLevel.Information, droppedPath, droppedEpoch));
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
    private Attempt StartAttemptLocked(FileEntry file, BlockEntry last, long now, IReadOnlyList<DataNodeStatus> nodes, Effects effects, bool byMonitor, bool resumed = false)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        effects.Change(file);
        var attempt = NextAttemptLocked(file, last, now, nodes, byMonitor, resumed);
        effects.After(() => Follow(attempt));
        return attempt;
    }

    /// <remarks>
    /// A <paramref name="resumed"/> attempt (after a restart, a storage restore or an activation)
    /// takes the place of the one the interruption cut short: it is not counted again, so the
    /// grace for dead replicas is spent only by attempts that ran their course
    /// (<see cref="LeaseManagerOptions.RecoveryTimeout"/> each), never by restarts in a row while
    /// the DataNodes holding the data are still down.
    /// </remarks>
    private Attempt NextAttemptLocked(FileEntry file, BlockEntry last, long now, IReadOnlyList<DataNodeStatus> nodes, bool byMonitor, bool resumed)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var recovery = _recoveries.BeginAttempt(file);
        recovery.ByMonitor = byMonitor;
        var again = resumed && recovery.Attempts > 0;

        var locations = last.Locations;
        if (!again && recovery.Attempts >= _options.DeadReplicaGraceAttempts)
        {
            locations = Array.FindAll(locations, id => IsAlive(nodes, id));
            if (locations.Length == 0)
            {
                var attempts = recovery.Attempts;
                _namespace.RemoveBlock(last);
                file.Epoch = ++_generationStamp;
                CloseLocked(file);
                return new Attempt(file.Path, AttemptNote.DroppedUnreachableBlock, null, last.Id, attempts, byMonitor);
            }
        }

        var recoveryId = ++_generationStamp;
        recovery.AttemptStarted = now;
        if (!again && ++recovery.Attempts == 1)
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
            ? new Attempt(file.Path, AttemptNote.NoLivePrimary, null, last.Id, recovery.Attempts, byMonitor)
            : new Attempt(file.Path, AttemptNote.Dispatched, new BlockRecoveryCommand(last.Id, last.GenerationStamp, recoveryId, primary, locations), last.Id, recovery.Attempts, byMonitor);
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
        var (information, warning) = attempt.ByMonitor ? (LogLevel.Debug, LogLevel.Debug) : (LogLevel.Information, LogLevel.Warning);
        switch (attempt)
        {
            case { Note: AttemptNote.Dispatched, Command: { } command } a:
                if (_logger.IsEnabled(information))
                {
                    LogRecoveryStarted(information, a.Path, command.BlockId, command.RecoveryId, command.PrimaryDataNodeId, command.Locations);
                }

                _recoveryTasks.Track(RunRecoveryAsync(command, a.Path));
                break;
            case { Note: AttemptNote.NoLivePrimary } a:
                LogRecoveryNoPrimary(warning, a.Path, a.BlockId, a.Attempts);
                break;
            case { Note: AttemptNote.DroppedUnreachableBlock } a:
                LogDroppedUnreachableBlock(warning, a.Path, a.BlockId, a.Attempts);
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
        string? blocked;
        var byMonitor = false;
        Commit? commit;
        var effects = new Effects();
        lock (_lock)
        {
            BlockEntry? block = null;
            blocked = BlockedLocked();
            applied = blocked is null
                && _namespace.TryGetBlock(result.BlockId, out block)
                && block.File.Recovery is { } recovery
                && block.State == BlockState.UnderRecovery
                && block.RecoveryId == result.RecoveryId;
            if (applied)
            {
                byMonitor = block!.File.Recovery!.ByMonitor;
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
                var level = byMonitor ? LogLevel.Debug : LogLevel.Information;
                if (_logger.IsEnabled(level))
                {
                    LogRecoveryCommitted(level, path, committed.BlockId, committed.RecoveryId, committed.NewLength, committed.DeleteBlock, committed.Locations);
                }

                break;
            case BlockRecoveryFailed failed when applied:
                LogRecoveryFailed(byMonitor ? LogLevel.Debug : LogLevel.Warning, path, failed.BlockId, failed.RecoveryId, failed.Reason, failed.Message);
                break;
            default:
                if (blocked is not null)
                {
                    // Not stale: the store failed (or this replica stopped serving) before it came.
                    LogRecoveryResultBlocked(path, result.BlockId, result.RecoveryId, blocked);
                }
                else
                {
                    LogStaleRecoveryResult(path, result.BlockId, result.RecoveryId);
                }

                break;
        }
    }
}
