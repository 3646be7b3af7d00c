using LeaseService.Core;
using LeaseService.Server.Monitoring;
using LeaseService.Server.Rpc;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace LeaseService.Server.Metrics;

/// <summary>
/// Metrics and traces through the OpenTelemetry SDK: our meters, ASP.NET Core (Hosting and
/// Kestrel) and runtime instrumentation, exported as Prometheus text on the metrics endpoint
/// (<see cref="MetricsServer"/>) and over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
/// (metrics and traces; the exporter reads the standard <c>OTEL_*</c> variables).
/// </summary>
internal static class MetricsServiceCollectionExtensions
{
    /// <summary>The standard variable that turns the OTLP exporter on.</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>ASP.NET Core instruments recorded on every request.</summary>
    public static readonly string[] PerRequestInstruments = ["http.server.request.duration", "http.server.active_requests", "aspnetcore.routing.match_attempts"];

    /// <summary>The service name in exported resources.</summary>
    public const string ServiceName = "leaseservice";

    public static IServiceCollection AddLeaseServiceTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        var prometheus = configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>()?.Enabled ?? true;
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);

        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(LeaseManager.MeterName, LeaseMonitor.MeterName, CallInstruments.MeterName)
                    .AddAspNetCoreInstrumentation()
                    .AddRuntimeInstrumentation();

                // ASP.NET Core's per-request instruments say what rpc.server.* says, at a few µs a
                // call (docs/PERFORMANCE.md); dropped, so they are not even recorded.
                foreach (var perRequest in PerRequestInstruments)
                {
                    metrics.AddView(perRequest, MetricStreamConfiguration.Drop);
                }
                if (prometheus)
                {
                    // Every scrape reads current values (the exporter caches 300 ms by default).
                    metrics.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            telemetry.WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddOtlpExporter());
        }

        services.AddSingleton<MetricsServer>();
        services.AddHostedService(sp => sp.GetRequiredService<MetricsServer>());
        return services;
    }

    /// <summary>The metrics endpoint's bound addresses (port 0 resolved); empty when disabled. Valid after start.</summary>
    public static IReadOnlyList<string> MetricsAddresses(this IServiceProvider services)
        => services.GetRequiredService<MetricsServer>().Addresses;
}
