using LeaseService.Core;
using LeaseService.Core.Storage;
using dotnet_etcd;
using LeaseService.Storage.Etcd;
using LeaseService.Storage.RocksDb;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Storage;

/// <summary>Composition of storage: options, the engine, loading before serving, health.</summary>
internal static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Options <c>Storage</c> (validated at start-up), the <see cref="ILeaseStore"/> of the
    /// configured provider (opened when first resolved), the loader (register before the monitor:
    /// hosted services start in order; on etcd the replica loads when elected, see
    /// <see cref="Cluster.EtcdReplica"/>) and the restorer after storage failures.
    /// </summary>
    public static IServiceCollection AddLeaseStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddSingleton<ILeaseStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return options.ParsedProvider switch
            {
                StorageProvider.InMemory => new InMemoryLeaseStore(),
                StorageProvider.Etcd => new EtcdLeaseStore(sp.GetRequiredService<EtcdClient>(), sp.GetRequiredService<EtcdElection>(), options.Etcd.Endpoints),
                _ => RocksDbLeaseStore.Open(options.FullPath),
            };
        });
        services.AddSingleton<IStorageHealth>(sp => sp.GetRequiredService<LeaseManager>());
        services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage", tags: [Health.HealthChecksSetup.LeaseServiceName])
            // A standby refuses every leases.v1 call, the simulator's too: both follow the role.
            .AddCheck<Cluster.ReplicaRoleHealthCheck>("role", tags: [Health.HealthChecksSetup.LeaseServiceName, Health.HealthChecksSetup.DataNodeSimulatorName, Health.HealthChecksSetup.RoleTag]);
        services.AddHostedService<StorageHealthPush>();
        services.AddHostedService<StorageLoader>();
        services.AddHostedService<StorageRestorer>();
        return services;
    }

    /// <summary>Opens the store (a store it cannot use throws <see cref="LeaseStoreException"/>); call before starting. Returns the store's description.</summary>
    public static string OpenLeaseStorage(this IServiceProvider services) => services.GetRequiredService<ILeaseStore>().Description;
}
