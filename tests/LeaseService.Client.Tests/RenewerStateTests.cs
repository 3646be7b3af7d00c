using LeaseService.Client.Renewal;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>The validity bound, HELD/JEOPARDY/LOST, aborts, subscriptions and disposal.</summary>
public sealed class RenewerStateTests : IAsyncLifetime
{
    private readonly RenewerHarness _h = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Register_BoundCountsFromTheAddLeaseSendTime()
    {
        var sent = _h.Time.GetTimestamp();
        _h.Time.Advance(TimeSpan.FromSeconds(1)); // the AddLease reply took a second

        var registration = _h.Renewer.Register(RenewerHarness.Lease("client-a", "/a/1"), sent);

        registration.ValidUntilTimestamp.Should().Be(sent + RenewerHarness.Ticks(10 - 2));
        registration.Remaining.Should().Be(TimeSpan.FromSeconds(7));
        registration.IsHeld.Should().BeTrue();
        _h.Renewer.IsHeld("client-a").Should().BeTrue();
        _h.Renewer.GetStatus("client-a")!.ValidUntilTimestamp.Should().Be(registration.ValidUntilTimestamp);
    }

    [Fact]
    public async Task SlowReply_DoesNotExtendTheBound_WhichCountsFromTheSendTime()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Hold;
        var registration = _h.Register("client-a", "/a/1");
        var held = _h.Transport.NextHeldCall;
        _h.Time.Advance(TimeSpan.FromSeconds(5));
        var call = await held.DefaultTimeout();

        _h.Time.Advance(TimeSpan.FromSeconds(2.5)); // the reply is slow
        call.Succeed();
        await _h.WhenIdleAsync().DefaultTimeout();

        var sentAt = _h.Start + RenewerHarness.Ticks(5);
        registration.ValidUntilTimestamp.Should().Be(sentAt + RenewerHarness.Ticks(10 - 2), "send time + soft − drift, not reply time");
        _h.Renewer.GetStatus("client-a")!.Remaining.Should().Be(TimeSpan.FromSeconds(5.5));
    }

    [Fact]
    public async Task ReplyArrivingAfterTheBound_TokenAlreadyTripped_StaysTripped_HolderBackToHeld()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Hold;
        var registration = _h.Register("client-a", "/a/1");
        var held = _h.Transport.NextHeldCall;
        _h.Time.Advance(TimeSpan.FromSeconds(5));
        var call = await held.DefaultTimeout();

        _h.Time.Advance(TimeSpan.FromSeconds(3)); // reaches the bound (8 s) while the call hangs
        registration.Token.IsCancellationRequested.Should().BeTrue("the token trips at the bound, whatever the renewal task is doing");
        registration.AbortReason.Should().Be(LeaseAbortReason.ValidityExpired);
        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Jeopardy);
        FluentActions.Invoking(registration.ThrowIfNotHeld).Should().Throw<LeaseLostException>().Which.Reason.Should().Be(LeaseAbortReason.ValidityExpired);

        call.Succeed();
        await _h.WhenIdleAsync().DefaultTimeout();

        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Held);
        registration.IsHeld.Should().BeFalse("a tripped token is final: reopen the path to write again");
    }

    [Fact]
    public async Task FailingRenewals_HeldToJeopardyNearTheBound_ThenBackToHeld()
    {
        await using var watch = _h.Renewer.WatchAsync().GetAsyncEnumerator();
        var first = watch.MoveNextAsync();
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Unavailable;
        var registration = _h.Register("client-a", "/a/1");

        await _h.AdvanceToAsync(5.4);
        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Held, "one failure far from the bound is not yet jeopardy");
        await _h.AdvanceToAsync(5.5); // bound 8 s − window (soft/4 = 2.5 s)
        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Jeopardy);
        (await first.DefaultTimeout()).Should().BeTrue();
        watch.Current.Should().Match<LeaseStateChange>(c => c.Holder == "client-a" && c.Previous == LeaseHolderState.Held && c.Current == LeaseHolderState.Jeopardy && c.Error is LeaseUnavailableException);
        registration.IsHeld.Should().BeTrue("the bound has not passed: writes may continue");

        _h.Transport.Behavior = FakeRenewalTransport.Mode.Succeed;
        await _h.AdvanceToAsync(6.0);

        (await watch.MoveNextAsync().AsTask().DefaultTimeout()).Should().BeTrue();
        watch.Current.Should().Match<LeaseStateChange>(c => c.Previous == LeaseHolderState.Jeopardy && c.Current == LeaseHolderState.Held);
        registration.IsHeld.Should().BeTrue();
        registration.ValidUntilTimestamp.Should().Be(_h.Start + RenewerHarness.Ticks(6 + 8));
    }

    [Fact]
    public async Task NotFound_HolderLost_AllItsPathsAborted_OtherHoldersKeepRenewing()
    {
        await using var watch = _h.Renewer.WatchAsync().GetAsyncEnumerator();
        var first = watch.MoveNextAsync();
        _h.Transport.HolderBehavior["client-a"] = FakeRenewalTransport.Mode.NotFound;
        var a1 = _h.Register("client-a", "/a/1");
        var a2 = _h.Register("client-a", "/a/2");
        var b1 = _h.Register("client-b", "/b/1");

        await _h.AdvanceToAsync(5.0);

        a1.Token.IsCancellationRequested.Should().BeTrue();
        a2.Token.IsCancellationRequested.Should().BeTrue();
        a1.AbortReason.Should().Be(LeaseAbortReason.HolderNotFound);
        a1.HolderState.Should().Be(LeaseHolderState.Lost);
        (await first.DefaultTimeout()).Should().BeTrue();
        watch.Current.Should().Match<LeaseStateChange>(c => c.Holder == "client-a" && c.Current == LeaseHolderState.Lost && c.Reason == LeaseAbortReason.HolderNotFound);
        watch.Current.AbortedPaths.Should().BeEquivalentTo("/a/1", "/a/2");
        _h.Renewer.GetStatus("client-a").Should().BeNull();
        _h.Renewer.IsHeld("client-a").Should().BeFalse();

        await _h.AdvanceToAsync(15.0);
        _h.Transport.CallsFor("client-a").Should().Be(1, "a lost holder is not renewed again");
        _h.Transport.CallsFor("client-b").Should().Be(3);
        b1.IsHeld.Should().BeTrue();
        _h.Renewer.GetStatus("client-b")!.State.Should().Be(LeaseHolderState.Held);
    }

    [Fact]
    public async Task NoSuccessfulRenewalForTheHardLimit_HolderLost()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.TransportError;
        await using var watch = _h.Renewer.WatchAsync().GetAsyncEnumerator();
        var first = watch.MoveNextAsync();
        var registration = _h.Register("client-a", "/a/1");

        await _h.AdvanceToAsync(8.0);
        registration.Token.IsCancellationRequested.Should().BeTrue("the bound passed");
        await _h.AdvanceToAsync(29.9);
        _h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Jeopardy);
        await _h.AdvanceToAsync(30.0);

        _h.Renewer.GetStatus("client-a").Should().BeNull();
        var changes = new List<LeaseStateChange>();
        (await first.DefaultTimeout()).Should().BeTrue();
        changes.Add(watch.Current);
        (await watch.MoveNextAsync().AsTask().DefaultTimeout()).Should().BeTrue();
        changes.Add(watch.Current);
        changes.Select(c => c.Current).Should().Equal(LeaseHolderState.Jeopardy, LeaseHolderState.Lost);
        changes[1].Reason.Should().Be(LeaseAbortReason.HardLimitExceeded);
        var calls = _h.Transport.CallsFor("client-a");
        await _h.AdvanceAsync(TimeSpan.FromSeconds(10));
        _h.Transport.CallsFor("client-a").Should().Be(calls);
    }

    [Fact]
    public async Task ServerRenewedFewerPathsThanOpen_MissingPathRevoked_OthersKept()
    {
        _h.Transport.LeasesRenewed = 1;
        _h.Transport.HeldPaths.Add("/a/1");
        var kept = _h.Register("client-a", "/a/1");
        var revoked = _h.Register("client-a", "/a/2");

        await _h.AdvanceToAsync(5.0);

        revoked.AbortReason.Should().Be(LeaseAbortReason.Revoked);
        kept.IsHeld.Should().BeTrue();
        _h.Renewer.GetStatus("client-a")!.OpenPaths.Should().Be(1);
    }

    [Fact]
    public async Task FewerRenewedThanOpen_WhileTheListFails_NoOpenPathCountsAsRenewed_UntilTheListSaysWhich()
    {
        var kept = _h.Register("client-a", "/a/1");
        var taken = _h.Register("client-a", "/a/2");
        _h.Transport.LeasesRenewed = 1; // One of the two was taken; only the holder's list can say which.
        _h.Transport.HeldPaths.Add("/a/1");
        _h.Transport.ListFailure = new TimeoutException("list timed out");

        // Renewals every 5 s (half the 10 s soft limit) succeed, each counting one path. With the
        // list failing, neither path's bound moves past the one from its AddLease (10 s - 2 s drift).
        await _h.AdvanceToAsync(9.0);

        taken.AbortReason.Should().Be(LeaseAbortReason.ValidityExpired, "a path nobody could confirm must not count as held");
        kept.AbortReason.Should().Be(LeaseAbortReason.ValidityExpired, "which one was taken was never known");
    }

    [Fact]
    public async Task FewerRenewedThanOpen_OneListFails_RetriedAfterTheRetryInterval_NotAPeriodLater()
    {
        var kept = _h.Register("client-a", "/a/1");
        var closing = _h.Register("client-a", "/a/closing");
        _h.Renewer.MarkClosing(closing); // Its close applied on the server; the reply is on the way.
        _h.Transport.LeasesRenewed = 1;  // So the server counts /a/1 only.
        _h.Transport.HeldPaths.Add("/a/1");
        _h.Transport.ListFailure = new TimeoutException("one slow ListLeases");

        await _h.AdvanceToAsync(5.0);    // The renewal at 5 s counts one path; the list after it fails.
        _h.Renewer.GetStatus("client-a")!.ConsecutiveFailures.Should().Be(1, "a list that failed is a failed attempt");
        _h.Transport.ListFailure = null;
        await _h.AdvanceToAsync(9.0);    // Before /a/1's old bound (10 s - 2 s drift) passes... and after.

        kept.AbortReason.Should().Be(LeaseAbortReason.None, "the server renewed /a/1, and the list said so a retry later");
        kept.IsHeld.Should().BeTrue();
    }

    [Fact]
    public async Task FewerRenewedThanOpen_TheListConfirmsTheRest_WhichKeepBeingRenewed()
    {
        var kept = _h.Register("client-a", "/a/1");
        var taken = _h.Register("client-a", "/a/2");
        _h.Transport.LeasesRenewed = 1;
        _h.Transport.HeldPaths.Add("/a/1");

        await _h.AdvanceToAsync(30.0);

        taken.AbortReason.Should().Be(LeaseAbortReason.Revoked);
        kept.IsHeld.Should().BeTrue("the list confirmed it, and every renewal since covered it");
    }

    [Fact]
    public async Task PathBeingClosed_StillCountedByTheServer_DoesNotHideTheRevocationOfAnother()
    {
        var closing = _h.Register("client-a", "/a/closing");
        var taken = _h.Register("client-a", "/a/taken");
        _h.Renewer.MarkClosing(closing); // RemoveLease keeps answering closed=false: the server still holds it.
        _h.Transport.LeasesRenewed = 1;  // /a/taken was recovered by force; the one renewed is /a/closing.
        _h.Transport.HeldPaths.Add("/a/closing");

        await _h.AdvanceToAsync(5.0);

        taken.AbortReason.Should().Be(LeaseAbortReason.Revoked, "the one path renewed was the one being closed");
        closing.Token.IsCancellationRequested.Should().BeFalse("a path being closed is the closer's to finish");
    }

    [Fact]
    public async Task PathAbortedByTheApplication_StillCountedByTheServer_DoesNotHideTheRevocationOfAnother()
    {
        var aborted = _h.Register("client-a", "/a/aborted");
        var taken = _h.Register("client-a", "/a/taken");
        aborted.Dispose();               // Abandoned, not closed: the holder still holds it, and each renewal renews it.
        _h.Transport.LeasesRenewed = 1;  // /a/taken was recovered by force; the one renewed is /a/aborted.
        _h.Transport.HeldPaths.Add("/a/aborted");

        await _h.AdvanceToAsync(5.0);

        taken.AbortReason.Should().Be(LeaseAbortReason.Revoked, "the one path renewed was the one the application abandoned");
    }

    [Fact]
    public async Task PathAbandonedThenClosedElsewhere_OneListLater_NoLongerCounted()
    {
        var kept = _h.Register("client-a", "/a/kept");
        _h.Register("client-a", "/a/gone").Dispose(); // Disposed after the application closed it itself.
        _h.Transport.LeasesRenewed = 1;
        _h.Transport.HeldPaths.Add("/a/kept");

        await _h.AdvanceToAsync(30.0);

        kept.IsHeld.Should().BeTrue("the list showed /a/gone is not held, so a count of one is /a/kept");
        _h.Transport.ListCalls.Should().Be(1, "once the list said /a/gone is gone, counts of one are what is expected");
    }

    [Fact]
    public async Task SlowSubscriber_NeverBlocksRenewals_KeepsOnlyTheNewestChanges()
    {
        await using var h = new RenewerHarness(o => o with { WatchCapacity = 2 });
        using var stop = new CancellationTokenSource();
        var watch = h.Renewer.WatchAsync(stop.Token).GetAsyncEnumerator();
        var first = watch.MoveNextAsync(); // subscribed; takes the first change, then reads nothing until the end
        h.Register("client-a", "/a/1");
        for (var i = 0; i < 4; i++)
        {
            h.Transport.Behavior = FakeRenewalTransport.Mode.Unavailable;
            await h.AdvanceAsync(TimeSpan.FromSeconds(5.5));
            h.Transport.Behavior = FakeRenewalTransport.Mode.Succeed;
            await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        }

        h.Renewer.GetStatus("client-a")!.State.Should().Be(LeaseHolderState.Held);
        h.Transport.Calls.Should().HaveCountGreaterThan(8, "renewals went on while the reader slept");
        (await first.DefaultTimeout()).Should().BeTrue();
        watch.Current.Current.Should().Be(LeaseHolderState.Jeopardy);
        var buffered = new List<LeaseHolderState>();
        for (var i = 0; i < 2; i++)
        {
            (await watch.MoveNextAsync().AsTask().DefaultTimeout()).Should().BeTrue();
            buffered.Add(watch.Current.Current);
        }

        buffered.Should().Equal(LeaseHolderState.Jeopardy, LeaseHolderState.Held);
        watch.MoveNextAsync().AsTask().IsCompleted.Should().BeFalse("the six older changes were dropped");
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Dispose_StopsRenewing_AbortsPaths_EndsWatchers_RefusesRegistrations()
    {
        var registration = _h.Register("client-a", "/a/1");
        var watch = _h.Renewer.WatchAsync().GetAsyncEnumerator();
        var next = watch.MoveNextAsync();
        await _h.AdvanceToAsync(5.0);
        var calls = _h.Transport.Calls.Count;

        await _h.Renewer.DisposeAsync().DefaultTimeout();
        _h.Time.Advance(TimeSpan.FromMinutes(2));

        _h.Transport.Calls.Count.Should().Be(calls);
        _h.Transport.Disposed.Should().BeTrue();
        registration.AbortReason.Should().Be(LeaseAbortReason.RenewerDisposed);
        _h.Renewer.IsRunning.Should().BeFalse();
        var more = await next.DefaultTimeout();
        more.Should().BeFalse(more ? watch.Current.ToString() : "");
        FluentActions.Invoking(() => _h.Register("client-a", "/a/2")).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task Dispose_WhileARenewalIsInFlight_CancelsItAndDoesNotRetry()
    {
        _h.Transport.Behavior = FakeRenewalTransport.Mode.Hold;
        _h.Register("client-a", "/a/1");
        var held = _h.Transport.NextHeldCall;
        _h.Time.Advance(TimeSpan.FromSeconds(5));
        await held.DefaultTimeout();

        await _h.Renewer.DisposeAsync().DefaultTimeout();
        _h.Time.Advance(TimeSpan.FromMinutes(1));

        _h.Transport.Calls.Should().HaveCount(1);
    }

    [Fact]
    public void Register_SamePathTwice_Refused_AndDriftNotBelowSoftLimit_Refused()
    {
        _h.Register("client-a", "/a/1");
        FluentActions.Invoking(() => _h.Register("client-a", "/a/1")).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => _h.Renewer.Register("client-a", "/a/3", 1, _h.Time.GetTimestamp(), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)))
            .Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Options_OutOfRange_Refused()
    {
        FluentActions.Invoking(() => new LeaseRenewerOptions { GracePeriod = TimeSpan.FromMilliseconds(50) }.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*< 100ms is too small*");
        FluentActions.Invoking(() => new LeaseRenewerOptions { RetryJitter = 2 }.Validate()).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new LeaseRenewerOptions { DriftMargin = TimeSpan.FromSeconds(-1) }.Validate()).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task BlockingTokenCallback_DoesNotHoldUpRenewals()
    {
        using var release = new ManualResetEventSlim();
        _h.Transport.HolderBehavior["client-a"] = FakeRenewalTransport.Mode.NotFound;
        var a1 = _h.Register("client-a", "/a/1");
        a1.Token.Register(() => release.Wait()); // an application callback that blocks
        _h.Register("client-b", "/b/1");

        await _h.AdvanceToAsync(15.0);

        a1.AbortReason.Should().Be(LeaseAbortReason.HolderNotFound);
        _h.Transport.CallsFor("client-b").Should().Be(3);
        release.Set();
    }
}
