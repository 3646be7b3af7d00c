using LeaseService.Core.DataNodes;

namespace LeaseService.Core.Tests;

/// <summary>
/// The manager's calls answer once their records are durable (asynchronously). With the default
/// in-memory store that is at once; these wait for it so the tests read as the sequence of calls
/// they describe. Each waits with the default test timeout.
/// </summary>
internal static class SynchronousCalls
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Outcome<LeaseView> AddLease(this LeaseManager manager, string holder, string path, string? clientMachine)
        => Wait(manager.AddLeaseAsync(holder, path, clientMachine));

    public static Outcome<RecoverResult> RecoverLease(this LeaseManager manager, string path, string? requester, bool force)
        => Wait(manager.RecoverLeaseAsync(path, requester, force));

    public static Outcome<LeaseView> GetLease(this LeaseManager manager, string path) => Wait(manager.GetLeaseAsync(path));

    public static Outcome<FileView> GetFile(this LeaseManager manager, string path) => Wait(manager.GetFileAsync(path));

    public static Outcome<LeasePage> ListLeases(this LeaseManager manager, string? holder, string? pathPrefix, int pageSize, string? pageToken)
        => Wait(manager.ListLeasesAsync(holder, pathPrefix, pageSize, pageToken));

    public static Outcome<BlockView> CheckWrite(this LeaseManager manager, long blockId, long generationStamp, long epoch, bool hasData)
        => Wait(manager.CheckWriteAsync(blockId, generationStamp, epoch, hasData));

    public static MonitorPassResult RunMonitorPass(this LeaseManager manager, TimeSpan budget)
        => manager.RunMonitorPassAsync(budget).WaitAsync(Timeout).GetAwaiter().GetResult();

    public static void ApplyRecoveryResult(this LeaseManager manager, BlockRecoveryResult result, string path)
        => manager.ApplyRecoveryResultAsync(result, path).WaitAsync(Timeout).GetAwaiter().GetResult();

    private static T Wait<T>(ValueTask<T> pending)
        => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().WaitAsync(Timeout).GetAwaiter().GetResult();
}
