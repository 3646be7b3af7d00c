using LeaseService.Core;
using LeaseService.Core.Storage;

namespace LeaseService.Server.Storage;

/// <summary>
/// A thin shell: while the store is failed, asks the manager once per <see cref="Interval"/> to
/// probe it and reload the state when it writes again. Real time: storage outages are not lease
/// time.
/// </summary>
internal sealed partial class StorageRestorer(LeaseManager manager, ILogger<StorageRestorer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (manager.StorageStatus != StorageStatus.Failed)
                {
                    continue;
                }

                try
                {
                    if (!await manager.TryRestoreStorageAsync(stoppingToken).ConfigureAwait(false))
                    {
                        LogStillFailing(manager.StorageFailure ?? "unknown");
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogRestoreFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    [LoggerMessage(5002, LogLevel.Warning, "Storage still failing: {Reason}; probing again in a second")]
    private partial void LogStillFailing(string reason);

    [LoggerMessage(5003, LogLevel.Error, "Storage restore attempt failed; retrying")]
    private partial void LogRestoreFailed(Exception exception);
}
