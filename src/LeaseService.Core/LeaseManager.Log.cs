using LeaseService.Core.DataNodes;
using Microsoft.Extensions.Logging;

namespace LeaseService.Core;

// Event ids 1000-1099: lease transitions (Information) and block recovery.
public sealed partial class LeaseManager
{
    [LoggerMessage(1001, LogLevel.Information, "Lease on {Path} granted to {Holder}, epoch {Epoch}")]
    private partial void LogGranted(string path, string holder, long epoch);

    [LoggerMessage(1002, LogLevel.Information, "{Path} closed by {Holder}")]
    private partial void LogClosed(string path, string holder);

    // Per-file events of the lease monitor's own work are Debug (a mass expiry would write
    // millions of lines); each pass that did work writes one Information summary (1020). The same
    // events caused by a caller (RecoverLease, a takeover) stay Information/Warning.
    [LoggerMessage(1003, LogLevel.Debug, "Lease of {Holder} on {Path} passed the hard limit; recovering")]
    private partial void LogHardLimitExpired(string path, string holder);

    [LoggerMessage(1004, LogLevel.Information, "Lease of {PreviousHolder} on {Path} passed the soft limit; recovering for {NewHolder}")]
    private partial void LogSoftLimitTakeover(string path, string previousHolder, string newHolder);

    [LoggerMessage(1005, LogLevel.Information, "RecoverLease on {Path} held by {Holder}, requested by {Requester} (force={Force})")]
    private partial void LogRecoverLease(string path, string holder, string requester, bool force);

    [LoggerMessage(EventId = 1006, Message = "{Path} closed by lease recovery: nothing left to recover, epoch {Epoch}")]
    private partial void LogClosedByRecovery(LogLevel level, string path, long epoch);

    [LoggerMessage(1007, LogLevel.Information, "{Path} deleted{Detail}")]
    private partial void LogDeleted(string path, string detail);

    [LoggerMessage(EventId = 1010, Message = "Block recovery of {Path} started: block {BlockId}, recovery id {RecoveryId}, primary {Primary}, participants [{Locations}]")]
    private partial void LogRecoveryStarted(LogLevel level, string path, long blockId, long recoveryId, string primary, IEnumerable<string> locations);

    [LoggerMessage(EventId = 1011, Message = "Block recovery of {Path} committed: block {BlockId}, recovery id {RecoveryId}, length {Length}, deleted {Deleted}, replicas [{Locations}]; file closed")]
    private partial void LogRecoveryCommitted(LogLevel level, string path, long blockId, long recoveryId, long length, bool deleted, IEnumerable<string> locations);

    [LoggerMessage(EventId = 1012, Message = "Block recovery of {Path} failed: block {BlockId}, recovery id {RecoveryId}, {Reason}: {Message}; retried after the recovery timeout")]
    private partial void LogRecoveryFailed(LogLevel level, string path, long blockId, long recoveryId, BlockRecoveryFailure reason, string message);

    [LoggerMessage(EventId = 1014, Message = "Block recovery of {Path} could not start: no live DataNode holds a replica of block {BlockId} (attempt {Attempt}); retried after the recovery timeout")]
    private partial void LogRecoveryNoPrimary(LogLevel level, string path, long blockId, int attempt);

    [LoggerMessage(EventId = 1015, Message = "Dropped last block {BlockId} of {Path} and closed the file: no DataNode holding a replica was up after {Attempts} recovery attempts")]
    private partial void LogDroppedUnreachableBlock(LogLevel level, string path, long blockId, int attempts);

    [LoggerMessage(1013, LogLevel.Debug, "Ignored a stale or duplicate recovery result for {Path}: block {BlockId}, recovery id {RecoveryId}")]
    private partial void LogStaleRecoveryResult(string path, long blockId, long recoveryId);

    [LoggerMessage(1016, LogLevel.Information, "Did not apply the recovery result for {Path} (block {BlockId}, recovery id {RecoveryId}): {Reason}; the recovery resumes with a new id once the state is served again")]
    private partial void LogRecoveryResultBlocked(string path, long blockId, long recoveryId, string reason);

    [LoggerMessage(1020, LogLevel.Information, "Lease monitor pass: {Expired} expired file(s) of {Leases} lease(s) taken into recovery ({Closed} closed at once, {Started} block recovery(ies) started), {Retried} retried; since the last pass {Committed} block recovery(ies) completed, {Failed} failed; backlog {Backlog} file(s) past the hard limit, oldest {OldestOverdueSeconds:0.###} s overdue; {LockHeldMs:0.###} ms under the lock in {Batches} batch(es), {ElapsedMs:0.###} ms in all")]
    private partial void LogMonitorPass(int expired, int leases, int closed, int started, int retried, long committed, long failed, int backlog, double oldestOverdueSeconds, double lockHeldMs, int batches, double elapsedMs);

    // Event ids 1100-1109: storage.
    [LoggerMessage(1100, LogLevel.Information, "State loaded from {Store}: {Files} file(s), {OpenFiles} open (held in memory), generation stamp {GenerationStamp}, last block id {BlockId}; every open file's lease counts as renewed now")]
    private partial void LogStorageLoaded(string store, int files, int openFiles, long generationStamp, long blockId);

    [LoggerMessage(1101, LogLevel.Error, "Storage write failed: {Reason}; state-changing calls answer UNAVAILABLE until a write succeeds and the state is reloaded")]
    private partial void LogStorageFailed(string reason);

    [LoggerMessage(1102, LogLevel.Warning, "Storage writes succeed again; reloading {Files} file(s) from the store")]
    private partial void LogStorageRestored(int files);

    [LoggerMessage(1103, LogLevel.Warning, "Stopped serving and dropped the in-memory state: {Reason}")]
    private partial void LogDeactivated(string reason);

    [LoggerMessage(1104, LogLevel.Information, "A write made before this replica stopped serving failed: {Reason}; its calls answered UNAVAILABLE (a standby has nothing to restore)")]
    private partial void LogWriteFailedAfterDeactivation(string reason);
}
