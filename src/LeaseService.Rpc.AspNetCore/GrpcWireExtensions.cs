using System.Diagnostics.Metrics;
using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Diagnostics;
using LeaseService.Rpc.AspNetCore.Internal.Dispatch;
using LeaseService.Rpc.AspNetCore.Internal.Health;
using LeaseService.Rpc.AspNetCore.Internal.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LeaseService.Rpc.AspNetCore;

/// <summary>Wires the gRPC server into an ASP.NET Core host.</summary>
public static class GrpcWireExtensions
{
    /// <summary>
    /// The meter of the server's per-call instruments (<c>rpc.server.calls</c>,
    /// <c>rpc.server.call.duration</c>), created through the host's <see cref="IMeterFactory"/>.
    /// </summary>
    public const string MeterName = "LeaseService.Rpc";

    private const string LoggerCategory = "LeaseService.Rpc.AspNetCore.GrpcWire";

    /// <summary>
    /// Registers <see cref="GrpcServerOptions"/> (validated at start-up), the <see cref="HealthService"/>
    /// singleton and the shutdown hook that drains on ApplicationStopping.
    /// </summary>
    public static IServiceCollection AddGrpcWire(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options
            .Validate(o => o.MaxReceiveMessageSize is > 0 and <= int.MaxValue - 5, "MaxReceiveMessageSize must be between 1 and int.MaxValue - 5.")
            .ValidateOnStart();
        services.AddMetrics();
        services.TryAddSingleton<HealthService>();
        services.TryAddSingleton<GrpcServerLifetime>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, GrpcShutdownHook>());
        return services;
    }

    /// <summary>
    /// Kestrel defaults for gRPC: every endpoint is HTTP/2 only (h2c prior knowledge on cleartext),
    /// no Server header, up to 1000 concurrent streams per connection, 8 MiB connection and 1 MiB
    /// stream flow-control windows, keep-alive pings after 60 s idle (20 s timeout).
    /// Call it before endpoints are configured (ConfigureEndpointDefaults applies to later ones).
    /// </summary>
    public static IWebHostBuilder UseGrpcKestrelDefaults(this IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureKestrel(static kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(static listen => listen.Protocols = HttpProtocols.Http2);
            var http2 = kestrel.Limits.Http2;
            http2.MaxStreamsPerConnection = 1000;
            http2.InitialConnectionWindowSize = 8 * 1024 * 1024;
            http2.InitialStreamWindowSize = 1024 * 1024;
            http2.KeepAlivePingDelay = TimeSpan.FromSeconds(60);
            http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
        });
    }

    /// <summary>
    /// Ends the pipeline with the gRPC dispatcher. <paramref name="register"/> adds the application's
    /// methods; <c>grpc.health.v1.Health/Check</c> and <c>/Watch</c> are added here. Requires
    /// <see cref="AddGrpcWire"/>. Uses the registered <see cref="TimeProvider"/>, if any, for deadlines.
    /// </summary>
    public static IApplicationBuilder UseGrpcWire(this IApplicationBuilder app, Action<GrpcMethodRegistry> register)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(register);
        var services = app.ApplicationServices;
        var lifetime = services.GetService<GrpcServerLifetime>()
            ?? throw new InvalidOperationException("Call services.AddGrpcWire() before app.UseGrpcWire().");
        var options = services.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        var runtime = new GrpcServerRuntime(
            options.MaxReceiveMessageSize,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerCategory),
            lifetime,
            new GrpcServerMetrics(services.GetRequiredService<IMeterFactory>().Create(MeterName)));

        var registry = new GrpcMethodRegistry(runtime);
        HealthMethods.Register(registry, services.GetRequiredService<HealthService>());
        register(registry);
        var dispatcher = new GrpcWireDispatcher(registry.Freeze(), runtime);
        app.Run(dispatcher.DispatchAsync);
        return app;
    }
}
