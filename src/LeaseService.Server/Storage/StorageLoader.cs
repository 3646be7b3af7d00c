using LeaseService.Core;

namespace LeaseService.Server.Storage;

/// <summary>
/// Loads the lease state from the store before anything is served. Hosted services start in
/// registration order and before Kestrel listens, and this one is registered before the monitor,
/// so the monitor (and every takeover) starts only after loading. A store it must not start over
/// stops start-up (<see cref="Core.Storage.LeaseStoreException"/>, exit code 2).
/// </summary>
internal sealed partial class StorageLoader(LeaseManager manager, ILogger<StorageLoader> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        LogLoading(manager.Store.Description);
        await manager.LoadAsync(cancellationToken).ConfigureAwait(false);

        // Loading decoded every record in the store (a million open files leave about 300 MB of
        // garbage behind, measured in docs/PERFORMANCE.md): collect it once, compacting and giving
        // the memory back, before serving rather than whenever the GC next gets to gen2.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(5001, LogLevel.Information, "Loading lease state from {Store}")]
    private partial void LogLoading(string store);
}
