using LeaseService.Core.Time;
using LeaseService.Rpc.AspNetCore;

namespace LeaseService.Server.Testing;

/// <summary>
/// <c>Testing:ManualClock=true</c> (environment <c>Testing__ManualClock=true</c>; default false,
/// never for production): lease time, the monitor and DataNode timeouts run on a
/// <see cref="ManualTimeProvider"/>, and <c>leases.v1.TestClock</c> is served to move it. gRPC deadlines
/// and Kestrel stay on the real clock. Without the switch nothing here is registered and
/// TestClock calls get UNIMPLEMENTED.
/// </summary>
internal static partial class TestingMode
{
    public const string ManualClockKey = "Testing:ManualClock";

    public static bool ManualClockEnabled(IConfiguration configuration) => configuration.GetValue<bool>(ManualClockKey);

    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        if (ManualClockEnabled(configuration))
        {
            services.AddSingleton(new ManualTimeProvider(TimeProvider.System.GetUtcNow()));
            services.AddSingleton<TestClockRpcService>();
        }
    }

    /// <summary>The clock of lease time, the monitor and the DataNodes: the manual one when enabled.</summary>
    public static TimeProvider LeaseClock(IServiceProvider services)
        => services.GetService<ManualTimeProvider>() ?? services.GetRequiredService<TimeProvider>();

    public static void Register(IServiceProvider services, GrpcMethodRegistry registry)
    {
        if (services.GetService<TestClockRpcService>() is { } testClock)
        {
            LogManualClock(services.GetRequiredService<ILoggerFactory>().CreateLogger("LeaseService.Server.Testing"));
            testClock.Register(registry);
        }
    }

    [LoggerMessage(9001, LogLevel.Warning, "TESTING MODE: Testing:ManualClock=true. Lease time stands still unless leases.v1.TestClock/Advance moves it; leases never expire on their own. Never run this in production.")]
    private static partial void LogManualClock(ILogger logger);
}
