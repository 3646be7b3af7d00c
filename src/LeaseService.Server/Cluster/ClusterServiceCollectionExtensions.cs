using dotnet_etcd;
using LeaseService.Server.Storage;
using LeaseService.Storage.Etcd;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Cluster;

/// <summary>Composition of the replica's role: standalone, or a replica of a cluster on etcd.</summary>
internal static class ClusterServiceCollectionExtensions
{
    /// <summary>
    /// Options <c>Cluster</c>; with <c>Storage:Provider=Etcd</c> the etcd client, the election,
    /// the store guarded by it and the replica that activates the manager when elected;
    /// otherwise a standalone role (always active). Its metrics: <see cref="ReplicaRoleMetrics"/>.
    /// </summary>
    public static IServiceCollection AddReplicaRole(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ClusterOptions>().Bind(configuration.GetSection(ClusterOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>();
        // The validator's parse: a value it refuses stops start-up before anything needs the role.
        var provider = configuration.GetSection(StorageOptions.Section)[nameof(StorageOptions.Provider)];
        if (!StorageOptions.TryParseProvider(provider, out var parsed) || parsed != StorageProvider.Etcd)
        {
            services.AddSingleton<IReplicaRole, StandaloneRole>();
            return services;
        }

        services.AddSingleton(sp => EtcdConnection.Create(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Etcd.Endpoints));
        services.AddSingleton(sp =>
        {
            var cluster = sp.GetRequiredService<IOptions<ClusterOptions>>().Value;
            return new EtcdElection(
                sp.GetRequiredService<EtcdClient>(),
                new EtcdKeys(sp.GetRequiredService<IOptions<StorageOptions>>().Value.Etcd.Prefix),
                new EtcdElectionOptions
                {
                    SessionTtl = cluster.SessionTtl,
                    DriftMargin = EtcdElectionOptions.DefaultDriftMargin(cluster.SessionTtl),
                    AdvertiseUrl = string.IsNullOrEmpty(cluster.AdvertiseUrl) ? null : cluster.AdvertiseUrl,
                },
                TimeProvider.System,
                sp.GetRequiredService<ILogger<EtcdElection>>());
        });
        services.AddSingleton<EtcdReplica>();
        services.AddSingleton<IReplicaRole>(sp => sp.GetRequiredService<EtcdReplica>());
        services.AddHostedService(sp => sp.GetRequiredService<EtcdReplica>());
        return services;
    }

    /// <summary>True when the configured provider is etcd (the replica, not the loader, loads the state).</summary>
    public static bool IsClustered(this StorageOptions options) => options.ParsedProvider == StorageProvider.Etcd;
}
