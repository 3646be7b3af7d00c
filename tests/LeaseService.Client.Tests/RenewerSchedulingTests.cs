using LeaseService.Client.Renewal;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>When the renewer runs and how often it calls, on a fake clock with a scripted transport.</summary>
public sealed class RenewerSchedulingTests : IAsyncLifetime
{
    private readonly RenewerHarness _h = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Renewer_NoPathOpen_RunsNoTaskAndCallsNothing()
    {
        _h.Renewer.IsRunning.Should().BeFalse();

        _h.Time.Advance(TimeSpan.FromMinutes(5));

        _h.Renewer.IsRunning.Should().BeFalse();
        _h.Transport.Calls.Should().BeEmpty();
        _h.Time.ArmedTimerCount.Should().Be(0);
    }

    [Fact]
    public async Task Renewer_SeveralPathsAndHolders_OneRenewalPerHolderPerRound_AtHalfTheSoftLimit()
    {
        _h.Register("client-a", "/a/1");
        _h.Register("client-a", "/a/2");
        _h.Register("client-b", "/b/1");
        _h.Renewer.IsRunning.Should().BeTrue();

        await _h.AdvanceToAsync(4.9);
        _h.Transport.Calls.Should().BeEmpty("the grant itself counts as a renewal until half the soft limit");

        await _h.AdvanceToAsync(5.0);
        _h.Transport.CallsFor("client-a").Should().Be(1);
        _h.Transport.CallsFor("client-b").Should().Be(1);
        _h.Transport.Calls.Select(c => c.Holder).Should().Equal("client-a", "client-b");

        await _h.AdvanceToAsync(10.0);
        _h.Transport.CallsFor("client-a").Should().Be(2);
        _h.Transport.CallsFor("client-b").Should().Be(2);
        _h.Transport.Calls.Select(c => c.At - _h.Start).Distinct().Should().Equal(RenewerHarness.Ticks(5), RenewerHarness.Ticks(10));
    }

    [Fact]
    public async Task Renewer_ClientRpcTimeoutSmallerThanSoftLimit_RenewsEveryHalfTimeout()
    {
        _h.Register("client-a", "/a/1", rpcTimeout: TimeSpan.FromSeconds(4));

        await _h.AdvanceToAsync(6.0);

        _h.Transport.Calls.Select(c => c.At - _h.Start).Should().Equal(RenewerHarness.Ticks(2), RenewerHarness.Ticks(4), RenewerHarness.Ticks(6));
    }

    [Fact]
    public async Task Renewer_LastPathClosed_StopsAfterGracePeriod_AndRestartsOnNextOpen()
    {
        var registration = _h.Register("client-a", "/a/1");
        await _h.AdvanceToAsync(1);
        registration.Dispose();
        registration.Token.IsCancellationRequested.Should().BeTrue();
        registration.AbortReason.Should().Be(LeaseAbortReason.Unregistered);
        _h.Clock.LoopRuns.Should().Be(1);

        await _h.AdvanceAsync(TimeSpan.FromSeconds(59.9), TimeSpan.FromSeconds(1));
        _h.Renewer.IsRunning.Should().BeTrue("the grace period is 60 s");
        _h.Transport.Calls.Should().BeEmpty("nothing is open, so nothing is renewed");

        await _h.AdvanceAsync(TimeSpan.FromSeconds(0.1));
        _h.Clock.LoopAlive.Should().BeFalse("the loop's run ended");
        _h.Renewer.IsRunning.Should().BeFalse();

        _h.Register("client-a", "/a/2");
        _h.Renewer.IsRunning.Should().BeTrue();
        _h.Clock.LoopRuns.Should().Be(2);
        await _h.AdvanceAsync(TimeSpan.FromSeconds(5));
        _h.Transport.CallsFor("client-a").Should().Be(1);
    }

    [Fact]
    public async Task Renewer_ReopenWithinGracePeriod_KeepsTheSameTask()
    {
        _h.Register("client-a", "/a/1").Dispose();
        await _h.AdvanceAsync(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1));

        _h.Register("client-a", "/a/2");

        _h.Clock.LoopRuns.Should().Be(1, "the first run is still alive");
        await _h.AdvanceAsync(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
        _h.Renewer.IsRunning.Should().BeTrue();
    }

    [Fact]
    public async Task Renewer_Unavailable_RetriesAboutEverySecondWithJitter()
    {
        await using var h = new RenewerHarness(o => o with { RetryJitter = 0.2, Random = new Random(7) });
        h.Transport.Behavior = FakeRenewalTransport.Mode.Unavailable;
        h.Register("client-a", "/a/1");

        await h.AdvanceAsync(TimeSpan.FromSeconds(12), TimeSpan.FromMilliseconds(10));

        var times = h.Transport.Calls.Select(c => TimeSpan.FromTicks(c.At - h.Start).TotalSeconds).ToArray();
        times[0].Should().BeApproximately(5, 0.001);
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToArray();
        gaps.Should().HaveCountGreaterThan(4);
        gaps.Should().OnlyContain(g => g >= 0.79 && g <= 1.21);
        gaps.Distinct().Should().HaveCountGreaterThan(1, "jitter spreads the retries");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Renewer_FailedRenewal_UnavailableOrTransportError_IsRetriedAndSucceeds(bool unavailable)
    {
        _h.Transport.Behavior = unavailable ? FakeRenewalTransport.Mode.Unavailable : FakeRenewalTransport.Mode.TransportError;
        var registration = _h.Register("client-a", "/a/1");
        await _h.AdvanceToAsync(5.5);
        _h.Transport.CallsFor("client-a").Should().Be(1);
        _h.Renewer.GetStatus("client-a")!.LastError.Should().NotBeNull();

        _h.Transport.Behavior = FakeRenewalTransport.Mode.Succeed;
        await _h.AdvanceToAsync(6.0);

        _h.Transport.CallsFor("client-a").Should().Be(2);
        var status = _h.Renewer.GetStatus("client-a")!;
        status.State.Should().Be(LeaseHolderState.Held);
        status.ConsecutiveFailures.Should().Be(0);
        registration.ValidUntilTimestamp.Should().Be(_h.Start + RenewerHarness.Ticks(6 + 10 - 2));
    }

    [Fact]
    public async Task Renewer_HungRenewal_TimesOutAndIsRetried()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Hold;
        _h.Register("client-a", "/a/1");
        var held = _h.Transport.NextHeldCall;
        _h.Time.Advance(TimeSpan.FromSeconds(5));
        await held.DefaultTimeout();
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Succeed;

        _h.Time.Advance(TimeSpan.FromSeconds(5)); // the renewal timeout (default 5 s)
        await _h.WhenIdleAsync().DefaultTimeout();
        await _h.AdvanceAsync(TimeSpan.FromSeconds(1));

        _h.Transport.CallsFor("client-a").Should().Be(2);
        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Held);
    }

    [Fact]
    public async Task Renewer_OneRenewalInFlightAtATime()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Hold;
        _h.Register("client-a", "/a/1");
        _h.Register("client-b", "/b/1");
        var firstCall = _h.Transport.NextHeldCall;
        _h.Time.Advance(TimeSpan.FromSeconds(5));
        var first = await firstCall.DefaultTimeout();
        var secondCall = _h.Transport.NextHeldCall;

        first.Holder.Should().Be("client-a");
        _h.Transport.Calls.Should().HaveCount(1, "client-b waits until client-a's renewal is answered");
        first.Succeed();
        var second = await secondCall.DefaultTimeout();

        second.Holder.Should().Be("client-b");
        second.Succeed();
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Succeed;
        await _h.WhenIdleAsync().DefaultTimeout();
        _h.Renewer.GetStatuses().Should().OnlyContain(s => s.State == LeaseHolderState.Held);
    }

    [Fact]
    public async Task Renewer_DriftMarginOverHalfTheSoftLimit_RenewsBeforeTheBound()
    {
        await using var h = new RenewerHarness(o => o with { DriftMargin = TimeSpan.FromSeconds(6) });
        var registration = h.Register("client-a", "/a/1");

        await h.AdvanceToAsync(12);

        h.Transport.Calls.Select(c => c.At - h.Start).Should().Equal(RenewerHarness.Ticks(2), RenewerHarness.Ticks(4), RenewerHarness.Ticks(6), RenewerHarness.Ticks(8), RenewerHarness.Ticks(10), RenewerHarness.Ticks(12));
        registration.IsHeld.Should().BeTrue("each renewal lands before the 4 s bound");
    }

    [Fact]
    public async Task Renewer_FollowsTheSoftLimitTheServerReports()
    {
        _h.Transport.SoftLimit = TimeSpan.FromSeconds(20);
        var registration = _h.Register("client-a", "/a/1");

        await _h.AdvanceToAsync(25);

        _h.Transport.Calls.Select(c => c.At - _h.Start).Should().Equal(RenewerHarness.Ticks(5), RenewerHarness.Ticks(15), RenewerHarness.Ticks(25));
        registration.ValidUntilTimestamp.Should().Be(_h.Start + RenewerHarness.Ticks(25 + 20 - 2));
    }
}
