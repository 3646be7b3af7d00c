using Microsoft.Extensions.Time.Testing;

namespace LeaseService.Server.Testing;

/// <summary>
/// <c>Testing:ManualClock=true</c> (environment <c>Testing__ManualClock=true</c>; default false,
/// never for production): lease time, the monitor and DataNode timeouts run on a
/// <see cref="FakeTimeProvider"/>, and <c>leases.v1.TestClock</c> is served to move it and to run
/// the monitor's passes. gRPC deadlines and Kestrel stay on the real clock. Without the switch
/// nothing here is registered and TestClock calls get UNIMPLEMENTED.
/// </summary>
internal static partial class TestingMode
{
    public const string ManualClockKey = "Testing:ManualClock";

    public static bool ManualClockEnabled(IConfiguration configuration) => configuration.GetValue<bool>(ManualClockKey);

    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        if (ManualClockEnabled(configuration))
        {
            services.AddSingleton(new ManualClock(new FakeTimeProvider(TimeProvider.System.GetUtcNow())));
            services.AddSingleton<TestClockRpcService>();
        }
    }

    /// <summary>The clock of lease time, the monitor and the DataNodes: the manual one when enabled.</summary>
    public static TimeProvider LeaseClock(IServiceProvider services)
        => services.GetService<ManualClock>()?.Time ?? services.GetRequiredService<TimeProvider>();

    /// <summary>Maps TestClock when the manual clock is on; its endpoint, or null.</summary>
    public static GrpcServiceEndpointConventionBuilder? Map(WebApplication app)
    {
        if (app.Services.GetService<ManualClock>() is null)
        {
            return null;
        }

        LogManualClock(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LeaseService.Server.Testing"));
        return app.MapGrpcService<TestClockRpcService>();
    }

    [LoggerMessage(9001, LogLevel.Warning, "TESTING MODE: Testing:ManualClock=true. Lease time stands still unless leases.v1.TestClock/Advance moves it; leases never expire on their own. Never run this in production.")]
    private static partial void LogManualClock(ILogger logger);
}

/// <summary>The manual lease clock and the timestamp it started at (monitor ticks are counted from there).</summary>
internal sealed class ManualClock(FakeTimeProvider time)
{
    public FakeTimeProvider Time { get; } = time;

    public long StartTimestamp { get; } = time.GetTimestamp();
}
