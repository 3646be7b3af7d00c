using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using LeaseService.Client;
using LeaseService.Testing;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// A high-availability deployment on loopback: a real etcd cluster (<see cref="EtcdCluster"/>) and
/// replica processes of the published server on it (Storage:Provider=Etcd, a prefix of their own,
/// each advertising its own address). Replicas are found active or standby through
/// <c>grpc.health.v1</c> only. Disposing kills everything.
/// </summary>
public sealed class ReplicaCluster : IAsyncDisposable
{
    /// <summary>
    /// The session TTL the replicas run with: short, so failovers take seconds; not the minimum
    /// (2 s), so a loaded CI machine does not fail over by itself.
    /// </summary>
    /// <remarks>
    /// <c>LEASE_HA_SESSION_TTL</c> (whole seconds) overrides it, e.g. for <c>benchmarks/ha/failover.sh</c>.
    /// </remarks>
    public static readonly TimeSpan SessionTtl = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("LEASE_HA_SESSION_TTL"), out var seconds) ? seconds : 3);

    private readonly List<ServerProcess> _replicas = [];
    private readonly List<LeaseClient> _clients = [];

    private ReplicaCluster(EtcdCluster etcd, string prefix)
    {
        Etcd = etcd;
        Prefix = prefix;
    }

    public EtcdCluster Etcd { get; }

    /// <summary>The cluster's etcd prefix (Storage:Etcd:Prefix).</summary>
    public string Prefix { get; }

    public IReadOnlyList<ServerProcess> Replicas => _replicas;

    /// <summary>A client per replica, same index.</summary>
    public IReadOnlyList<LeaseClient> Clients => _clients;

    /// <summary>Starts <paramref name="etcdMembers"/> etcd members and <paramref name="replicas"/> replicas with <paramref name="environment"/> on top.</summary>
    public static async Task<ReplicaCluster> StartAsync(int etcdMembers, int replicas, IReadOnlyDictionary<string, string>? environment = null)
    {
        var etcd = await EtcdCluster.StartAsync(etcdMembers);
        var cluster = new ReplicaCluster(etcd, $"/it-{Guid.NewGuid():N}/");
        try
        {
            // Every replica must know its own address before it starts: it advertises it.
            var urls = Enumerable.Range(0, replicas).Select(_ => $"http://127.0.0.1:{EtcdCluster.FreePort()}").ToList();
            await Task.WhenAll(urls.Select(async url =>
            {
                var env = new Dictionary<string, string>
                {
                    ["Storage__Provider"] = "Etcd",
                    ["Storage__Etcd__Endpoints"] = etcd.Endpoints,
                    ["Storage__Etcd__Prefix"] = cluster.Prefix,
                    ["Cluster__AdvertiseUrl"] = url,
                    ["Cluster__SessionTtl"] = SessionTtl.ToString(),
                    ["DOTNET_gcServer"] = "0",
                };
                foreach (var (key, value) in environment ?? new Dictionary<string, string>())
                {
                    env[key] = value;
                }

                var replica = await ServerProcess.StartAsync(env, url);
                lock (cluster._replicas)
                {
                    cluster._replicas.Add(replica);
                }
            }));
            cluster._replicas.Sort((a, b) => string.CompareOrdinal(a.Address, b.Address));
            cluster._clients.AddRange(cluster._replicas.Select(r => LeaseClient.Create(r.Address)));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>
    /// The index of the replica whose <c>leases.v1.LeaseService</c> health goes SERVING first,
    /// among <paramref name="candidates"/> (default all), watched through health Watch streams.
    /// </summary>
    public async Task<int> WaitForActiveAsync(params int[] candidates)
    {
        if (candidates.Length == 0)
        {
            candidates = [.. Enumerable.Range(0, _replicas.Count)];
        }

        using var stop = new CancellationTokenSource();
        var watches = candidates.Select(i => WatchUntilServingAsync(i, stop.Token)).ToList();
        var started = Stopwatch.StartNew();
        try
        {
            while (watches.Count > 0)
            {
                var done = await Task.WhenAny(watches).DefaultTimeout();
                if (done.IsCompletedSuccessfully)
                {
                    return done.Result;
                }

                watches.Remove(done); // That replica went away (killed): the others still count.
            }

            throw new InvalidOperationException($"No replica became active after {started.Elapsed}.\n{Output}");
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    /// <summary><c>leases.v1.LeaseService</c> health of replica <paramref name="index"/> (Check), for <paramref name="service"/>.</summary>
    public Task<ServingStatus> HealthAsync(int index, string service = Health.LeaseServiceName)
        => _clients[index].CheckHealthAsync(service).DefaultTimeout();

    /// <summary>Every data record the replicas wrote, with its modification revision, read from etcd directly.</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadDataRevisionsAsync()
    {
        using var client = new EtcdClient(Etcd.Endpoints, configureChannelOptions: o => o.Credentials = ChannelCredentials.Insecure);
        var prefix = ByteString.CopyFromUtf8(Prefix + "data/");
        var end = prefix.ToByteArray();
        end[^1]++;
        var response = await client.GetAsync(new RangeRequest { Key = prefix, RangeEnd = ByteString.CopyFrom(end) }).DefaultTimeout();
        return response.Kvs.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.ModRevision);
    }

    /// <summary>Everything every replica and etcd member printed.</summary>
    public string Output => string.Join('\n', _replicas.Select((r, i) => $"--- replica {i} ({r.Address}) ---\n{r.Output}")) + "\n" + Etcd.Output;

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        await Etcd.DisposeAsync();
    }

    private async Task<int> WatchUntilServingAsync(int index, CancellationToken cancellationToken)
    {
        var health = new Grpc.Health.V1.Health.HealthClient(_clients[index].CallInvoker);
        using var call = health.Watch(new Grpc.Health.V1.HealthCheckRequest { Service = Health.LeaseServiceName }, cancellationToken: cancellationToken);
        await foreach (var status in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            if (status.Status == ServingStatus.Serving)
            {
                return index;
            }
        }

        throw new InvalidOperationException($"The health Watch of replica {index} ended.");
    }
}
