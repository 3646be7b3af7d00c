using LeaseService.Rpc.AspNetCore.Internal.Logging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.AspNetCore.Internal.Hosting;

/// <summary>
/// On ApplicationStopping (before Kestrel stops accepting): new calls get UNAVAILABLE, every health
/// status becomes NOT_SERVING, Watch streams get that and then end with UNAVAILABLE. In-flight calls
/// run on until Kestrel's own shutdown timeout.
/// </summary>
internal sealed class GrpcShutdownHook(
    IHostApplicationLifetime applicationLifetime,
    GrpcServerLifetime serverLifetime,
    HealthService health,
    ILogger<GrpcShutdownHook> logger) : IHostedService, IDisposable
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = applicationLifetime.ApplicationStopping.Register(static state => ((GrpcShutdownHook)state!).OnStopping(), this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _registration.Dispose();

    private void OnStopping()
    {
        if (serverLifetime.BeginDraining())
        {
            ServerLog.Draining(logger);
            health.EnterShutdown();
        }
    }
}
