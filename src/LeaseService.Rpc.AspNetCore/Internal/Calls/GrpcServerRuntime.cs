using LeaseService.Rpc.AspNetCore.Internal.Diagnostics;
using LeaseService.Rpc.AspNetCore.Internal.Hosting;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.AspNetCore.Internal.Calls;

/// <summary>What every call needs from the host, resolved once at start-up.</summary>
internal sealed class GrpcServerRuntime(int maxReceiveMessageSize, TimeProvider timeProvider, ILogger logger, GrpcServerLifetime lifetime, GrpcServerMetrics metrics)
{
    public int MaxReceiveMessageSize { get; } = maxReceiveMessageSize;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILogger Logger { get; } = logger;

    public GrpcServerLifetime Lifetime { get; } = lifetime;

    public GrpcServerMetrics Metrics { get; } = metrics;
}
