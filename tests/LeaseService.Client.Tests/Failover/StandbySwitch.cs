using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client.Tests.Failover;

/// <summary>
/// Makes a real server play a standby replica, as the HA contract defines it, until switched
/// back: every leases.v1.LeaseService call gets UNAVAILABLE "not the active replica" with the
/// <c>leader-url</c> trailer when <see cref="LeaderUrl"/> is set. A stand-in for the etcd-backed
/// standby, for the client's side of failover.
/// </summary>
internal sealed class StandbySwitch : Interceptor
{
    private volatile bool _standby;
    private volatile string? _leaderUrl;

    /// <summary>The active replica this standby names; null: it does not know.</summary>
    public string? LeaderUrl => _leaderUrl;

    /// <summary>How many calls this replica refused as a standby.</summary>
    public int Refused => Volatile.Read(ref _refused);

    private int _refused;

    public void BecomeStandby(string? leaderUrl)
    {
        _leaderUrl = leaderUrl;
        _standby = true;
    }

    public void BecomeActive() => _standby = false;

    /// <summary>Adds this switch to a server's interceptors (for <c>ServerFixture.StartAsync(configure)</c>).</summary>
    public void AddTo(WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(this);
        builder.Services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<StandbySwitch>());
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (_standby && context.Method.StartsWith("/leases.v1.LeaseService/", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _refused);
            var trailers = new Metadata();
            if (_leaderUrl is { } leader)
            {
                trailers.Add(LeaseClient.LeaderUrlTrailer, leader);
            }

            throw new RpcException(new Status(StatusCode.Unavailable, "not the active replica"), trailers);
        }

        return continuation(request, context);
    }
}
