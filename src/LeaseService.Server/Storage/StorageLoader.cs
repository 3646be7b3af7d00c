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

        // The loaded state (up to millions of objects) is all young, beside the garbage of reading
        // it. Left alone, the first collections while serving would promote and compact all of it,
        // pausing every call for long (hundreds of ms at a million open files, measured by
        // benchmarks/load/run-backlog.sh); one full compacting collection now, before Kestrel
        // listens, moves it to the oldest generation while nobody waits.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(5001, LogLevel.Information, "Loading lease state from {Store}")]
    private partial void LogLoading(string store);
}
