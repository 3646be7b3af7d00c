using LeaseService.Core;
using LeaseService.Server.Cluster;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Storage;

/// <summary>
/// Loads the lease state from the store before anything is served. Hosted services start in
/// registration order and before Kestrel listens, and this one is registered before the monitor,
/// so the monitor (and every takeover) starts only after loading. A store it must not start over
/// stops start-up (<see cref="Core.Storage.LeaseStoreException"/>, exit code 2). Not on etcd:
/// there a replica loads when elected.
/// </summary>
internal sealed partial class StorageLoader(LeaseManager manager, IOptions<StorageOptions> options, ILogger<StorageLoader> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.IsClustered())
        {
            return; // A replica loads the state when it is elected active (Cluster.EtcdReplica).
        }

        LogLoading(manager.Store.Description);
        await manager.LoadAsync(cancellationToken).ConfigureAwait(false);

        // Loading decoded every record in the store: the loaded state (up to millions of objects)
        // is all young, beside the garbage of reading it (about 300 MB at a million open files,
        // docs/PERFORMANCE.md). Left alone, the first collections while serving would promote and
        // compact all of it, pausing every call for hundreds of ms (benchmarks/load/run-backlog.sh).
        // One aggressive compacting collection now, before Kestrel listens, moves the live state to
        // the oldest generation and gives the garbage back while nobody waits.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(5001, LogLevel.Information, "Loading lease state from {Store}")]
    private partial void LogLoading(string store);
}
