using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Server.Monitoring;
using LeaseService.Server.Rpc;
using TestClockBase = LeaseService.Contracts.V1.TestClock.TestClockBase;

namespace LeaseService.Server.Testing;

/// <summary>
/// <c>leases.v1.TestClock</c>, mapped only when <c>Testing:ManualClock=true</c>: black-box tests
/// move the server's lease time and wait for the work a move causes. The monitor's passes run
/// here at the start timestamp + k × interval for each interval crossed, each to its end (and,
/// as on the real clock, followed by more passes at once while one leaves a backlog) before time
/// moves on (no hosted monitor loop runs on the manual clock).
/// </summary>
[BindServiceMethod(typeof(Utf8ValidatedBinding<TestClockBase>), nameof(Utf8ValidatedBinding<TestClockBase>.BindService))] // Strings must be valid UTF-8.
internal sealed class TestClockRpcService(ManualClock clock, LeaseMonitor monitor, LeaseManager leases) : TestClockBase, IDisposable
{
    /// <summary>The most one Advance call may move the clock.</summary>
    private static readonly TimeSpan MaxAdvance = TimeSpan.FromDays(2);

    // A singleton (TestingMode): one Advance at a time across calls.
    private readonly SemaphoreSlim _advancing = new(1, 1);
    private readonly long _interval = monitor.Interval.Ticks;
    private int _passes;

    public override async Task<ClockTime> Advance(AdvanceRequest request, ServerCallContext context)
    {
        var by = request.By?.ToTimeSpan() ?? TimeSpan.Zero;
        if (by < TimeSpan.Zero)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "by must not be negative"));
        }

        // One monitor pass runs per interval crossed: bound the work one call can ask for.
        if (by > MaxAdvance)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"by must not exceed {MaxAdvance} per call; advance in steps"));
        }

        await _advancing.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        try
        {
            var time = clock.Time;
            var end = time.GetTimestamp() + by.Ticks;
            var passes = 0;
            while (true)
            {
                var now = time.GetTimestamp();
                var nextTick = clock.StartTimestamp + ((((now - clock.StartTimestamp) / _interval) + 1) * _interval);
                if (nextTick > end)
                {
                    MoveTo(end);
                    break;
                }

                MoveTo(nextTick);
                var ran = await monitor.RunUntilCaughtUpAsync(context.CancellationToken).ConfigureAwait(false);
                passes += ran;
                Interlocked.Add(ref _passes, ran);
            }

            return Now(passes);
        }
        finally
        {
            _advancing.Release();
        }
    }

    public override Task<ClockTime> Now(NowRequest request, ServerCallContext context) => Task.FromResult(Now(Volatile.Read(ref _passes)));

    public override async Task<WaitForRecoveriesResponse> WaitForRecoveries(WaitForRecoveriesRequest request, ServerCallContext context)
    {
        await leases.WhenRecoveriesIdleAsync().WaitAsync(context.CancellationToken).ConfigureAwait(false);
        return new WaitForRecoveriesResponse();
    }

    public void Dispose() => _advancing.Dispose();

    private void MoveTo(long timestamp)
    {
        var delta = timestamp - clock.Time.GetTimestamp();
        if (delta > 0)
        {
            clock.Time.Advance(TimeSpan.FromTicks(delta));
        }
    }

    private ClockTime Now(int passes) => new()
    {
        UtcNow = Timestamp.FromDateTimeOffset(clock.Time.GetUtcNow()),
        Elapsed = Duration.FromTimeSpan(clock.Time.GetElapsedTime(clock.StartTimestamp)),
        MonitorPasses = passes,
        MonitorInterval = Duration.FromTimeSpan(monitor.Interval),
    };
}
