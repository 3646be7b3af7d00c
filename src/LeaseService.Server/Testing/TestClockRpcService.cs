using LeaseService.Core.Time;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Rpc;
using LeaseService.Rpc.AspNetCore;
using LeaseService.Server.Monitoring;
using LeaseService.Server.Options;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Testing;

/// <summary>
/// <c>leases.v1.TestClock</c>, registered only when <c>Testing:ManualClock=true</c>: black-box
/// tests move the server's lease time and wait for the work a move causes.
/// </summary>
internal sealed class TestClockRpcService(
    ManualTimeProvider clock,
    LeaseManager leases,
    IServiceProvider services,
    IOptions<LeaseOptions> options) : IDisposable
{
    /// <summary>The most one Advance call may move the clock.</summary>
    private static readonly TimeSpan MaxAdvance = TimeSpan.FromDays(2);

    /// <summary>How long one monitor pass may take before Advance gives up (real time).</summary>
    private static readonly TimeSpan PassTimeout = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _advancing = new(1, 1);
    private readonly long _interval = options.Value.MonitorInterval.Ticks;
    private int _passes;

    // Resolved lazily: the hosted services are built after the wire methods are registered.
    private LeaseMonitor Monitor => field ??= services.GetServices<IHostedService>().OfType<LeaseMonitor>().Single();

    public void Register(GrpcMethodRegistry registry) => registry
        .AddUnary(TestClockMethods.Advance, AdvanceAsync)
        .AddUnary(TestClockMethods.Now, (_, _) => ValueTask.FromResult(Now(Volatile.Read(ref _passes))))
        .AddUnary(TestClockMethods.WaitForRecoveries, WaitForRecoveriesAsync);

    private async ValueTask<ClockTime> AdvanceAsync(AdvanceRequest request, ServerCallContext context)
    {
        var by = request.By?.ToTimeSpan() ?? TimeSpan.Zero;
        if (by < TimeSpan.Zero)
        {
            throw new RpcException(StatusCode.InvalidArgument, "by must not be negative");
        }

        // One monitor pass runs per interval crossed: bound the work one call can ask for.
        if (by > MaxAdvance)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"by must not exceed {MaxAdvance} per call; advance in steps");
        }

        await _advancing.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            // The monitor's periodic timer was created at start-up, before any advance, so it
            // ticks at StartTimestamp + k * MonitorInterval. A PeriodicTimer remembers one pending
            // tick only, so time stops at each tick until that pass has run.
            await Monitor.TimerStarted.WaitAsync(PassTimeout, context.CancellationToken).ConfigureAwait(false);
            var end = clock.GetTimestamp() + by.Ticks;
            var passes = 0;
            while (true)
            {
                var now = clock.GetTimestamp();
                var nextTick = clock.StartTimestamp + ((((now - clock.StartTimestamp) / _interval) + 1) * _interval);
                if (nextTick > end)
                {
                    clock.AdvanceTo(end);
                    break;
                }

                var pass = Monitor.NextPassCompleted;
                clock.AdvanceTo(nextTick);
                try
                {
                    await pass.WaitAsync(PassTimeout, context.CancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    throw new RpcException(StatusCode.Internal, $"the monitor pass at {TimeSpan.FromTicks(nextTick - clock.StartTimestamp)} did not finish within {PassTimeout}");
                }

                passes++;
                Interlocked.Increment(ref _passes);
            }

            return Now(passes);
        }
        finally
        {
            _advancing.Release();
        }
    }

    public void Dispose() => _advancing.Dispose();

    private async ValueTask<WaitForRecoveriesResponse> WaitForRecoveriesAsync(WaitForRecoveriesRequest request, ServerCallContext context)
    {
        await leases.WhenRecoveriesIdleAsync().WaitAsync(context.CancellationToken).ConfigureAwait(false);
        return new WaitForRecoveriesResponse();
    }

    private ClockTime Now(int passes) => new()
    {
        UtcNow = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
        Elapsed = Duration.FromTimeSpan(TimeSpan.FromTicks(clock.GetTimestamp() - clock.StartTimestamp)),
        MonitorPasses = passes,
        MonitorInterval = Duration.FromTimeSpan(TimeSpan.FromTicks(_interval)),
    };
}

/// <summary>The methods of <c>leases.v1.TestClock</c>.</summary>
internal static class TestClockMethods
{
    public const string ServiceName = "leases.v1.TestClock";

    public static readonly Method<AdvanceRequest, ClockTime> Advance =
        new(MethodType.Unary, ServiceName, "Advance", AdvanceRequest.Parser, ClockTime.Parser);

    public static readonly Method<NowRequest, ClockTime> Now =
        new(MethodType.Unary, ServiceName, "Now", NowRequest.Parser, ClockTime.Parser);

    public static readonly Method<WaitForRecoveriesRequest, WaitForRecoveriesResponse> WaitForRecoveries =
        new(MethodType.Unary, ServiceName, "WaitForRecoveries", WaitForRecoveriesRequest.Parser, WaitForRecoveriesResponse.Parser);
}
