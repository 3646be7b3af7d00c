using Google.Protobuf.WellKnownTypes;
using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>A renewer on a fake clock with a scripted transport (soft 10 s, hard 30 s, drift 2 s).</summary>
internal sealed class RenewerHarness : IAsyncDisposable
{
    public static readonly TimeSpan Drift = TimeSpan.FromSeconds(2);

    public RenewerHarness(Func<LeaseRenewerOptions, LeaseRenewerOptions>? configure = null)
    {
        Time = new FakeTimeProvider();
        Clock = new RenewerTestClock(Time);
        Transport = new FakeRenewalTransport(Time);
        var options = new LeaseRenewerOptions
        {
            TimeProvider = Clock,
            DriftMargin = Drift,
            RetryJitter = 0,
            Random = new Random(1),
        };
        options = configure?.Invoke(options) ?? options;
        Renewer = new LeaseRenewer(new Uri("http://nn1:5050"), "alice", Transport, options);
        Start = Time.GetTimestamp();
    }

    public FakeTimeProvider Time { get; }

    /// <summary>The renewer's view of <see cref="Time"/>: tells when the renewal loop is idle.</summary>
    public RenewerTestClock Clock { get; }

    public FakeRenewalTransport Transport { get; }

    public LeaseRenewer Renewer { get; }

    /// <summary>The fake clock when the harness was made.</summary>
    public long Start { get; }

    public static LeaseInfo Lease(string holder, string path, ulong epoch = 1) => new()
    {
        Holder = holder,
        Path = path,
        Epoch = epoch,
        State = LeaseState.Active,
        SoftLimitRemaining = Duration.FromTimeSpan(FakeRenewalTransport.Soft),
        HardLimitRemaining = Duration.FromTimeSpan(FakeRenewalTransport.Hard),
    };

    public static long Ticks(double seconds) => TimeSpan.FromSeconds(seconds).Ticks;

    /// <summary>Registers a path as if its AddLease was sent now.</summary>
    public LeaseRegistration Register(string holder, string path, TimeSpan? rpcTimeout = null)
        => Renewer.Register(Lease(holder, path), Time.GetTimestamp(), rpcTimeout);

    /// <summary>Seconds since <see cref="Start"/> on the fake clock.</summary>
    public double Elapsed => TimeSpan.FromTicks(Time.GetTimestamp() - Start).TotalSeconds;

    /// <summary>Completes when the renewal loop is parked with nothing pending, or stopped.</summary>
    public Task WhenIdleAsync() => Clock.WhenIdleAsync();

    /// <summary>Moves the clock in small steps, letting the renewer finish each pass it starts.</summary>
    public async Task AdvanceAsync(TimeSpan total, TimeSpan? step = null)
    {
        var size = step ?? TimeSpan.FromMilliseconds(100);
        await WhenIdleAsync().DefaultTimeout();
        var end = Time.GetTimestamp() + total.Ticks;
        while (Time.GetTimestamp() < end)
        {
            Time.Advance(TimeSpan.FromTicks(Math.Min(size.Ticks, end - Time.GetTimestamp())));
            await WhenIdleAsync().DefaultTimeout();
        }
    }

    /// <summary>Moves the clock to <paramref name="seconds"/> after <see cref="Start"/>.</summary>
    public Task AdvanceToAsync(double seconds) => AdvanceAsync(TimeSpan.FromTicks(Start + Ticks(seconds) - Time.GetTimestamp()));

    public async ValueTask DisposeAsync() => await Renewer.DisposeAsync();
}
