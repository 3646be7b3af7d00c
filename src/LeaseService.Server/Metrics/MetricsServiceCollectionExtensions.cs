using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Rpc.AspNetCore;
using LeaseService.Server.Monitoring;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Metrics;

/// <summary>Composition of the metrics endpoint.</summary>
internal static class MetricsServiceCollectionExtensions
{
    /// <summary>Kestrel's meter; only its per-connection instruments are exported (nothing per request).</summary>
    public const string KestrelMeterName = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>The runtime's process-wide meter (GC, heap, thread pool, CPU, exceptions).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    private static readonly HashSet<string> KestrelInstruments =
        new(["kestrel.active_connections", "kestrel.connection.duration", "kestrel.rejected_connections", "kestrel.queued_connections"], StringComparer.Ordinal);

    /// <summary>
    /// Options <c>Metrics</c> (validated at start-up), the exporter and the metrics server. The
    /// exporter listens to this host's <c>LeaseService.*</c> meters only and is created when the
    /// endpoint starts, so a disabled endpoint leaves every instrument without a listener.
    /// </summary>
    public static IServiceCollection AddLeaseServiceMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddSingleton(sp => new PrometheusExporter(
            sp.GetRequiredService<IMeterFactory>(),
            [LeaseManager.MeterName, LeaseMonitor.MeterName, GrpcWireExtensions.MeterName, KestrelMeterName],
            [RuntimeMeterName],
            sp.GetRequiredService<ILogger<PrometheusExporter>>(),
            static instrument => instrument.Meter.Name != KestrelMeterName || KestrelInstruments.Contains(instrument.Name)));
        services.AddSingleton<MetricsServer>();
        services.AddHostedService(sp => sp.GetRequiredService<MetricsServer>());
        return services;
    }

    /// <summary>The metrics endpoint's bound addresses (port 0 resolved); empty when disabled. Valid after start.</summary>
    public static IReadOnlyList<string> MetricsAddresses(this IServiceProvider services)
        => services.GetRequiredService<MetricsServer>().Addresses;
}
