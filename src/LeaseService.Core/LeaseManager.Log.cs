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

    [LoggerMessage(1003, LogLevel.Information, "Lease of {Holder} on {Path} passed the hard limit; recovering")]
    private partial void LogHardLimitExpired(string path, string holder);

    [LoggerMessage(1004, LogLevel.Information, "Lease of {PreviousHolder} on {Path} passed the soft limit; recovering for {NewHolder}")]
    private partial void LogSoftLimitTakeover(string path, string previousHolder, string newHolder);

    [LoggerMessage(1005, LogLevel.Information, "RecoverLease on {Path} held by {Holder}, requested by {Requester} (force={Force})")]
    private partial void LogRecoverLease(string path, string holder, string requester, bool force);

    [LoggerMessage(1006, LogLevel.Information, "{Path} closed by lease recovery: nothing left to recover, epoch {Epoch}")]
    private partial void LogClosedByRecovery(string path, long epoch);

    [LoggerMessage(1010, LogLevel.Information, "Block recovery of {Path} started: block {BlockId}, recovery id {RecoveryId}, primary {Primary}, participants [{Locations}]")]
    private partial void LogRecoveryStarted(string path, long blockId, long recoveryId, string primary, string locations);

    [LoggerMessage(1011, LogLevel.Information, "Block recovery of {Path} committed: block {BlockId}, recovery id {RecoveryId}, length {Length}, deleted {Deleted}, replicas [{Locations}]; file closed")]
    private partial void LogRecoveryCommitted(string path, long blockId, long recoveryId, long length, bool deleted, string locations);

    [LoggerMessage(1012, LogLevel.Warning, "Block recovery of {Path} failed: block {BlockId}, recovery id {RecoveryId}, {Reason}: {Message}; retried after the recovery timeout")]
    private partial void LogRecoveryFailed(string path, long blockId, long recoveryId, BlockRecoveryFailure reason, string message);

    [LoggerMessage(1014, LogLevel.Warning, "Block recovery of {Path} could not start: no live DataNode holds a replica of block {BlockId} (attempt {Attempt}); retried after the recovery timeout")]
    private partial void LogRecoveryNoPrimary(string path, long blockId, int attempt);

    [LoggerMessage(1015, LogLevel.Warning, "Dropped last block {BlockId} of {Path} and closed the file: no DataNode holding a replica was up after {Attempts} recovery attempts")]
    private partial void LogDroppedUnreachableBlock(string path, long blockId, int attempts);

    [LoggerMessage(1013, LogLevel.Debug, "Ignored a stale or duplicate recovery result for {Path}: block {BlockId}, recovery id {RecoveryId}")]
    private partial void LogStaleRecoveryResult(string path, long blockId, long recoveryId);

    // Event ids 1100-1109: storage.
    [LoggerMessage(1100, LogLevel.Information, "State loaded from {Store}: {Files} file(s), generation stamp {GenerationStamp}, last block id {BlockId}; every open file's lease counts as renewed now")]
    private partial void LogStorageLoaded(string store, int files, long generationStamp, long blockId);

    [LoggerMessage(1101, LogLevel.Error, "Storage write failed: {Reason}; state-changing calls answer UNAVAILABLE until a write succeeds and the state is reloaded")]
    private partial void LogStorageFailed(string reason);

    [LoggerMessage(1102, LogLevel.Warning, "Storage writes succeed again; reloading {Files} file(s) from the store")]
    private partial void LogStorageRestored(int files);

    [LoggerMessage(1103, LogLevel.Warning, "Stopped serving and dropped the in-memory state: {Reason}")]
    private partial void LogDeactivated(string reason);
}
