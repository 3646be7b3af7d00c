using LeaseService.Server.Rpc;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Hosting;

/// <summary>Grpc.AspNetCore and Kestrel, configured for the lease service.</summary>
internal static class GrpcServerSetup
{
    /// <summary>The configuration section of the gRPC server options.</summary>
    public const string Section = "Grpc";

    /// <summary>The largest request message by default: 4 MiB, as every gRPC implementation.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>
    /// Kestrel defaults for gRPC: every endpoint is HTTP/2 only (h2c prior knowledge on cleartext),
    /// no Server header, up to 1000 concurrent streams per connection, 8 MiB connection and 1 MiB
    /// stream flow-control windows, keep-alive pings after 60 s idle (20 s timeout).
    /// </summary>
    public static IWebHostBuilder UseGrpcKestrelDefaults(this IWebHostBuilder builder) => builder.ConfigureKestrel(static kestrel =>
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

    /// <summary>
    /// Grpc.AspNetCore with the <c>Grpc</c> section's limits, detailed errors only in Development,
    /// gzip and deflate requests whose corrupt data is refused with a status (<see cref="CheckedDecompression"/>),
    /// the per-call interceptor (draining, metrics, the Debug event) and server reflection.
    /// </summary>
    public static IServiceCollection AddGrpcServer(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var maxReceive = configuration.GetValue($"{Section}:MaxReceiveMessageSize", DefaultMaxReceiveMessageSize);
        if (maxReceive <= 0)
        {
            throw new OptionsValidationException(Section, typeof(GrpcServiceOptions), [$"{Section}:MaxReceiveMessageSize must be greater than 0 (was {maxReceive})."]);
        }

        services.AddSingleton<CallInstruments>();

        // Registered, so Grpc.AspNetCore takes this one instance instead of constructing the
        // interceptor for every call (it keeps no per-call state).
        services.AddSingleton<CallObservabilityInterceptor>();
        services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = maxReceive;
            options.EnableDetailedErrors = environment.IsDevelopment();
            options.CompressionProviders = CheckedDecompression.Defaults();
            options.Interceptors.Add<CallObservabilityInterceptor>();
        });
        services.AddGrpcReflection();
        return services;
    }
}
