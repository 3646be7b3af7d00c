using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Storage;
using LeaseService.DataNodes;
using LeaseService.Server.Cluster;
using LeaseService.Server.Health;
using LeaseService.Server.Hosting;
using LeaseService.Server.Logging;
using LeaseService.Server.Metrics;
using LeaseService.Server.Monitoring;
using LeaseService.Server.Options;
using LeaseService.Server.Rpc;
using LeaseService.Server.Security;
using LeaseService.Server.Storage;
using LeaseService.Server.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace LeaseService.Server;

/// <summary>
/// Composition of the service: the core, the DataNodes, Grpc.AspNetCore, authentication and
/// authorization, health, reflection, logging, metrics and the monitor. Program runs it; tests build it with their own clock and a
/// loopback port 0. No lease logic lives here.
/// </summary>
public static class LeaseServer
{
    /// <summary>Where the server listens when nothing is configured.</summary>
    public const string DefaultUrl = "http://localhost:5050";

    /// <summary>
    /// The key of the keyed <see cref="TimeProvider"/> that measures the monitor's lock-hold budget:
    /// real monotonic time, whatever clock lease time runs on (tests may replace it).
    /// </summary>
    public const string WorkClockKey = "LeaseService.WorkClock";

    /// <summary>Builds the application; <paramref name="configure"/> may replace services (tests).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json lives beside the binary, wherever the process is started from.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey])
            && string.IsNullOrEmpty(builder.Configuration["HTTP_PORTS"])
            && string.IsNullOrEmpty(builder.Configuration["HTTPS_PORTS"])
            && !builder.Configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        ListenAddresses.Validate(builder.Configuration); // Ports Kestrel would misread or fail on deep inside.
        builder.WebHost.UseGrpcKestrelDefaults();
        var security = builder.AddLeaseServiceSecurity(); // Refuses anonymous serving beyond loopback.
        LoggingSetup.UseSerilog(builder);
        builder.Services.AddGrpcServer(builder.Configuration, builder.Environment);
        builder.Services.AddLeaseServiceHealthChecks();
        AddDomain(builder.Services, builder.Configuration);
        TestingMode.AddServices(builder.Services, builder.Configuration);
        builder.Services.AddLeaseServiceTelemetry(builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExactGrpcMethodPaths(); // Before anything that decides on the method's path.
        app.UseLeaseServiceSecurity(security);
        app.MapGrpcService<LeaseRpcService>().RequireCaller(security);
        app.MapGrpcService<DataNodeSimulatorRpcService>().RequireCaller(security); // Admin-only but WriteBlock: AuthorizationInterceptor.
        app.MapGrpcHealthChecksService(); // Health needs no credentials.
        app.MapGrpcReflectionService().RequireCaller(security);
        TestingMode.Map(app)?.RequireAdmin(security);

        // leases.v1.LeaseService is NOT_SERVING until the state is loaded and while storage fails (StorageHealthCheck).
        app.Services.OpenLeaseStorage();
        ReplicaRoleMetrics.Observe(app.Services.GetRequiredService<IReplicaRole>(), app.Services.GetRequiredService<IMeterFactory>());
        return app;
    }

    /// <summary>The addresses Kestrel actually bound (port 0 resolved); valid after start.</summary>
    public static IReadOnlyList<string> ListeningAddresses(this WebApplication app)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];

    /// <summary>The storage engine and where its data lives, e.g. "RocksDb at /var/lib/leaseservice".</summary>
    public static string StorageDescription(this WebApplication app) => app.Services.OpenLeaseStorage();

    /// <summary>The metrics endpoint's bound addresses (port 0 resolved); empty when disabled. Valid after start.</summary>
    public static IReadOnlyList<string> MetricsAddresses(this WebApplication app) => app.Services.MetricsAddresses();

    private static void AddDomain(IServiceCollection services, ConfigurationManager configuration)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddKeyedSingleton(WorkClockKey, TimeProvider.System);
        services.AddOptions<LeaseOptions>().Bind(configuration.GetSection(LeaseOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LeaseOptions>, LeaseOptionsValidator>();

        services.AddOptions<SimulatedDataNodeClusterOptions>()
            .Bind(configuration.GetSection(DataNodeOptionsValidator.Section))
            .PostConfigure<IOptions<StorageOptions>>(DataNodeOptionsValidator.ResolveDataDirectory)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SimulatedDataNodeClusterOptions>, DataNodeOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SimulatedDataNodeClusterOptions>>().Value;
            try
            {
                return new SimulatedDataNodeCluster(options, TestingMode.LeaseClock(sp), sp.GetRequiredService<ILogger<SimulatedDataNodeCluster>>());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StartupException(
                    $"Cannot use the simulated DataNodes' directory {options.DataDirectory} ({DataNodeOptionsValidator.Section}:{nameof(options.DataDirectory)}): {ex.Message}", ex);
            }
        });
        services.AddSingleton<IDataNodeCoordinator>(sp => sp.GetRequiredService<SimulatedDataNodeCluster>());
        services.AddSingleton<IBlockPipeline>(sp => new SimulatedBlockPipeline(sp.GetRequiredService<SimulatedDataNodeCluster>()));
        services.AddSingleton(sp => new FencedBlockWriter(sp.GetRequiredService<LeaseManager>(), sp.GetRequiredService<IBlockPipeline>()));

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<LeaseOptions>>().Value;
            return new LeaseManager(
                new LeaseManagerOptions
                {
                    SoftLimit = options.SoftLimit,
                    HardLimit = options.HardLimit,
                    RecoveryTimeout = options.RecoveryTimeout,
                    ReplicationFactor = options.ReplicationFactor,
                    MinReplication = options.MinReplication,
                    DeadReplicaGraceAttempts = options.DeadReplicaGraceAttempts,
                    MonitorBatchSize = options.MonitorBatchSize,
                    MaxBlocksPerFile = options.MaxBlocksPerFile,
                },
                sp.GetRequiredService<IDataNodeCoordinator>(),
                TestingMode.LeaseClock(sp),
                sp.GetRequiredService<ILogger<LeaseManager>>(),
                sp.GetRequiredService<IMeterFactory>().Create(LeaseManager.MeterName),
                sp.GetRequiredService<ILeaseStore>(),
                sp.GetRequiredKeyedService<TimeProvider>(WorkClockKey));
        });
        services.AddLeaseStorage(configuration); // Before the monitor: its loader must start first.
        services.AddReplicaRole(configuration); // Standalone, or an etcd replica that loads when elected.
        services.AddSingleton<LeaseRpcService>();
        services.AddSingleton<DataNodeSimulatorRpcService>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<LeaseMonitor>(sp, TestingMode.LeaseClock(sp)));

        // On the manual test clock the TestClock service runs the monitor's passes itself.
        if (!TestingMode.ManualClockEnabled(configuration))
        {
            services.AddHostedService<LeaseMonitorService>();
        }
    }
}
