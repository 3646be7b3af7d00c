using dotnet_etcd;
using Grpc.Core;
using Grpc.Net.Client.Configuration;

namespace LeaseService.Storage.Etcd;

/// <summary>
/// The etcd client of a replica: one dotnet-etcd <see cref="EtcdClient"/> over every endpoint
/// (round robin over the members that answer), with a short retry of UNAVAILABLE so one member
/// going down costs a retry, not an error, a member that was down reconnected within half a second
/// of its return, and no limit on the size of an answer. Every call sets its own deadline.
/// </summary>
public static class EtcdConnection
{
    // How long the client waits before connecting again to a member that refused the last attempt.
    private static readonly TimeSpan ReconnectBackoff = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// A client for <paramref name="endpoints"/>: comma-separated URLs such as
    /// <c>http://10.0.0.1:2379,http://10.0.0.2:2379</c>. The caller disposes it.
    /// </summary>
    public static EtcdClient Create(string endpoints)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoints);
        return new EtcdClient(endpoints, configureChannelOptions: options =>
        {
            // A page of the store's records (ReadAllAsync) may exceed gRPC's default 4 MB: no
            // limit on what etcd answers, as etcd's own Go client (MaxCallRecvMsgSize MaxInt32).
            options.MaxReceiveMessageSize = null;

            // A member that refuses connections (down, restarting) is tried again within a second,
            // however long it was down: gRPC's default backoff grows to 2 minutes, and calls fail
            // at once meanwhile, so after an outage of every member a replica would sit idle (no
            // session, no election) for up to that long after etcd is back.
            options.InitialReconnectBackoff = ReconnectBackoff;
            options.MaxReconnectBackoff = ReconnectBackoff;

            // dotnet-etcd's default retries back off 1-5 s, longer than a session TTL: keep the
            // round robin, retry UNAVAILABLE quickly; the callers' own loops do the rest.
            options.ServiceConfig = new ServiceConfig
            {
                LoadBalancingConfigs = { new RoundRobinConfig() },
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { MethodName.Default },
                        RetryPolicy = new RetryPolicy
                        {
                            MaxAttempts = 3,
                            InitialBackoff = TimeSpan.FromMilliseconds(50),
                            MaxBackoff = TimeSpan.FromMilliseconds(200),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            };
        });
    }
}
