using LeaseService.Client.Renewal;
using LeaseService.Client.Renewal.Internal;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>
/// The holder table's transitions as pure functions: time is an argument, no loop runs, no timer is
/// armed and no server is called (soft 10 s, hard 30 s, drift 2 s, grace 60 s, retry 1 s).
/// </summary>
public sealed class HolderTableTests : IAsyncDisposable
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Hard = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _time = new();
    private readonly LeaseRenewer _owner;
    private readonly HolderTable _table;
    private readonly long _t0;

    public HolderTableTests()
    {
        // The registrations need an owner; it never starts its loop here, and its transport refuses every call.
        _owner = new LeaseRenewer(new Uri("http://nn1:5050"), "alice", new NoTransport(), new LeaseRenewerOptions { TimeProvider = _time });
        var mono = new MonotonicTime(_time);
        _table = new HolderTable(new RenewalPolicy(mono, mono.ToTicks(TimeSpan.FromSeconds(2)), null, null, mono.ToTicks(TimeSpan.FromSeconds(60)), TimeSpan.FromSeconds(1)));
        _t0 = _time.GetTimestamp();
    }

    public async ValueTask DisposeAsync() => await _owner.DisposeAsync();

    [Fact]
    public void Add_FirstPath_BoundIsSendTimePlusSoftMinusDrift_FirstRenewalDueAtHalfTheSoftLimit()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);

        registration.ValidUntilTimestamp.Should().Be(At(8));
        registration.Sequence.Should().Be(1);
        _table.Evaluate(At(4.9), mayExit: true).Due.Should().BeEmpty();
        var pass = _table.Evaluate(At(5), mayExit: true);
        pass.Due.Should().Equal("client-a");
        pass.Effects.IsEmpty.Should().BeTrue();
        _time.ArmedTimerCount.Should().Be(0, "the table arms no timer");
    }

    [Fact]
    public void Add_SamePathTwice_Throws()
    {
        Add("client-a", "/a/1", sentAt: 0);

        FluentActions.Invoking(() => Add("client-a", "/a/1", sentAt: 1)).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Evaluate_NothingDue_WakesAtTheEarliestOfNextAttemptAndBound()
    {
        Add("client-a", "/a/1", sentAt: 0);
        Add("client-b", "/b/1", sentAt: 1);

        var pass = _table.Evaluate(At(1), mayExit: true);

        pass.Due.Should().BeEmpty();
        pass.NextWake.Should().Be(At(5), "client-a's first renewal is due at half its soft limit");
        pass.Exit.Should().BeFalse();
    }

    [Fact]
    public void Evaluate_SeveralHoldersDue_ListedInOrdinalOrder()
    {
        Add("client-b", "/b/1", sentAt: 0);
        Add("client-a", "/a/1", sentAt: 0);

        _table.Evaluate(At(5), mayExit: true).Due.Should().Equal("client-a", "client-b");
    }

    [Fact]
    public void Failed_FarFromTheBound_StaysHeld_NextAttemptAfterTheRetryDelay()
    {
        Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry).Should().BeTrue();

        var failed = _table.Failed(entry, new TimeoutException("slow"), At(5), () => TimeSpan.FromSeconds(1.2));

        failed.Should().Be(new FailedOutcome(true, 1, TimeSpan.FromSeconds(3)));
        var pass = _table.Evaluate(At(5), mayExit: true);
        pass.Effects.Transitions.Should().BeEmpty("the bound is 3 s away, outside the 2.5 s window");
        pass.Due.Should().BeEmpty();
        pass.NextWake.Should().Be(At(5.5), "the holder enters jeopardy a window before the bound");
        _table.Evaluate(At(6.2), mayExit: true).Due.Should().Equal("client-a");
    }

    [Fact]
    public void Failed_WithinTheJeopardyWindow_HeldToJeopardy_OnceWithTheError()
    {
        Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);
        var error = new TimeoutException("slow");
        _table.Failed(entry, error, At(5), () => TimeSpan.FromSeconds(1));

        var pass = _table.Evaluate(At(5.5), mayExit: true);

        pass.Effects.Transitions.Should().ContainSingle().Which.Should().Be(new HolderTransition("client-a", LeaseHolderState.Held, LeaseHolderState.Jeopardy, LeaseAbortReason.None, [], error));
        pass.Effects.Aborts.Should().BeEmpty();
        _table.Evaluate(At(5.6), mayExit: true).Effects.Transitions.Should().BeEmpty("the change is reported once");
        _table.Status("client-a", At(5.6), DateTimeOffset.UnixEpoch)!.State.Should().Be(LeaseHolderState.Jeopardy);
    }

    [Fact]
    public void Renewed_AfterJeopardy_BackToHeld_BoundCountsFromTheSendTime()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);
        _table.Failed(entry, new TimeoutException(), At(5), () => TimeSpan.FromSeconds(1));
        _table.Evaluate(At(5.5), mayExit: true);

        var renewed = _table.Renewed(entry, _table.RegistrationSequence, sent: At(6), new RenewResult(1, Soft, Hard));

        renewed.Applied.Should().BeTrue();
        renewed.Period.Should().Be(TimeSpan.FromSeconds(5));
        renewed.ToArm.Should().Equal(registration);
        renewed.Expected.Should().Be(1);
        registration.ValidUntilTimestamp.Should().Be(At(14), "send time 6 s + soft 10 s − drift 2 s, however late the reply");
        var pass = _table.Evaluate(At(7), mayExit: true);
        pass.Effects.Transitions.Should().ContainSingle().Which.Current.Should().Be(LeaseHolderState.Held);
        pass.NextWake.Should().Be(At(11));
        _table.Status("client-a", At(7), DateTimeOffset.UnixEpoch)!.ConsecutiveFailures.Should().Be(0);
    }

    [Fact]
    public void Renewed_PathRegisteredAfterTheSend_NotCovered()
    {
        var first = Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);
        var sequenceAtSend = _table.RegistrationSequence;
        var second = Add("client-a", "/a/2", sentAt: 5.5);

        var renewed = _table.Renewed(entry, sequenceAtSend, sent: At(5), new RenewResult(1, Soft, Hard));

        renewed.ToArm.Should().Equal(first);
        first.ValidUntilTimestamp.Should().Be(At(13));
        second.ValidUntilTimestamp.Should().Be(At(13.5), "its own grant still counts");
    }

    [Fact]
    public void Renewed_ServerReportsNewSoftLimit_PeriodFollowsIt()
    {
        Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);

        var renewed = _table.Renewed(entry, _table.RegistrationSequence, sent: At(5), new RenewResult(1, TimeSpan.FromSeconds(20), Hard));

        renewed.Period.Should().Be(TimeSpan.FromSeconds(10));
        _table.Evaluate(At(6), mayExit: true).NextWake.Should().Be(At(15));
    }

    [Fact]
    public void Renewed_HolderRemovedWhileInFlight_NotApplied()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);
        _table.Remove(registration, At(1));

        var renewed = _table.Renewed(entry, _table.RegistrationSequence, sent: At(0.5), new RenewResult(1, Soft, Hard));
        var asked = false;
        var failed = _table.Failed(entry, new TimeoutException(), At(1), () => { asked = true; return TimeSpan.FromSeconds(1); });

        renewed.Applied.Should().BeFalse();
        registration.ValidUntilTimestamp.Should().Be(At(8));
        failed.Applied.Should().BeFalse();
        asked.Should().BeFalse("no jitter is drawn for a failure that is not recorded");
    }

    [Fact]
    public void Evaluate_NoSuccessForTheHardLimit_HolderLost_EveryPathAbortedAsHardLimitExceeded()
    {
        var a1 = Add("client-a", "/a/1", sentAt: 0);
        var a2 = Add("client-a", "/a/2", sentAt: 0);
        Add("client-b", "/b/1", sentAt: 25);

        var pass = _table.Evaluate(At(30), mayExit: true);

        var lost = pass.Effects.Transitions.Should().ContainSingle().Which;
        lost.Holder.Should().Be("client-a");
        lost.Current.Should().Be(LeaseHolderState.Lost);
        lost.Reason.Should().Be(LeaseAbortReason.HardLimitExceeded);
        lost.AbortedPaths.Should().Equal("/a/1", "/a/2");
        pass.Effects.Aborts.Should().Equal((a1, LeaseAbortReason.HardLimitExceeded), (a2, LeaseAbortReason.HardLimitExceeded));
        _table.TryGet("client-a", out _).Should().BeFalse();
        _table.Count.Should().Be(1);
        a1.Token.IsCancellationRequested.Should().BeFalse("the caller carries out the aborts, outside the lock");
    }

    [Fact]
    public void NotFound_CoveredPathsLost_PathsRegisteredSinceKeptUnderAFreshEntryDueNow()
    {
        var a1 = Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);
        var sequenceAtSend = _table.RegistrationSequence;
        var a2 = Add("client-a", "/a/2", sentAt: 5.2);
        var error = new InvalidOperationException("not found");

        var effects = _table.NotFound(entry, sequenceAtSend, error, At(5.5));

        effects.Transitions.Should().ContainSingle().Which.Should().Be(new HolderTransition("client-a", LeaseHolderState.Held, LeaseHolderState.Lost, LeaseAbortReason.HolderNotFound, effects.Transitions[0].AbortedPaths, error));
        effects.Transitions[0].AbortedPaths.Should().Equal("/a/1");
        effects.Aborts.Should().Equal((a1, LeaseAbortReason.HolderNotFound));
        _table.TryGet("client-a", out var fresh).Should().BeTrue();
        fresh.Should().NotBeSameAs(entry);
        fresh.Registrations.Should().Equal(a2);
        _table.Evaluate(At(5.5), mayExit: true).Due.Should().Equal("client-a");
    }

    [Fact]
    public void NotFound_OnlyClosingPathsCovered_NoLoss_RetriedAfterTheRetryInterval()
    {
        var a1 = Add("client-a", "/a/1", sentAt: 0);
        a1.Closing = true;
        _table.TryGet("client-a", out var entry);

        var effects = _table.NotFound(entry, _table.RegistrationSequence, new InvalidOperationException(), At(5));

        effects.IsEmpty.Should().BeTrue();
        _table.TryGet("client-a", out var same).Should().BeTrue();
        same.Should().BeSameAs(entry);
        _table.Evaluate(At(5.9), mayExit: true).Due.Should().BeEmpty();
        _table.Evaluate(At(6), mayExit: true).Due.Should().Equal("client-a");
    }

    [Fact]
    public void NotFound_LastHolderLost_TableEmptyFromThen_ExitAfterTheGracePeriod()
    {
        Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);

        _table.NotFound(entry, _table.RegistrationSequence, new InvalidOperationException(), At(5));

        _table.EmptySince.Should().Be(At(5));
        _table.Evaluate(At(64.9), mayExit: true).Should().Match<EvaluationPass>(p => !p.Exit && p.NextWake == At(65));
        _table.Evaluate(At(65), mayExit: true).Exit.Should().BeTrue();
    }

    [Fact]
    public void Revoked_PathsMissingOnTheServerAborted_OthersKept_StateUnchanged()
    {
        var kept = Add("client-a", "/a/1", sentAt: 0);
        var revoked = Add("client-a", "/a/2", sentAt: 0);
        _table.TryGet("client-a", out var entry);

        var effects = _table.Revoked(entry, _table.RegistrationSequence, new HashSet<string> { "/a/1" }, At(5));

        effects.Transitions.Should().ContainSingle().Which.Should().Match<HolderTransition>(t =>
            t.Previous == LeaseHolderState.Held && t.Current == LeaseHolderState.Held && t.Reason == LeaseAbortReason.Revoked && t.AbortedPaths.SequenceEqual(new[] { "/a/2" }));
        effects.Aborts.Should().Equal((revoked, LeaseAbortReason.Revoked));
        entry.Registrations.Should().Equal(kept);
    }

    [Fact]
    public void Revoked_EveryPathMissing_HolderRemoved()
    {
        Add("client-a", "/a/1", sentAt: 0);
        _table.TryGet("client-a", out var entry);

        _table.Revoked(entry, _table.RegistrationSequence, new HashSet<string>(), At(5));

        _table.Count.Should().Be(0);
        _table.EmptySince.Should().Be(At(5));
    }

    [Fact]
    public void Remove_LastPath_HolderGone_TableEmptySinceThen()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);

        _table.Remove(registration, At(3)).Should().BeTrue();

        _table.Remove(registration, At(4)).Should().BeFalse();
        _table.Status("client-a", At(3), DateTimeOffset.UnixEpoch).Should().BeNull();
        _table.EmptySince.Should().Be(At(3));
    }

    [Fact]
    public void Evaluate_EmptyButExitNotAllowed_NeverExits()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);
        _table.Remove(registration, At(0));

        _table.Evaluate(At(100), mayExit: false).Exit.Should().BeFalse();
        _table.Evaluate(At(100), mayExit: true).Exit.Should().BeTrue();
    }

    [Fact]
    public void Add_AfterTheTableEmptied_GracePeriodForgotten()
    {
        var registration = Add("client-a", "/a/1", sentAt: 0);
        _table.Remove(registration, At(1));

        Add("client-a", "/a/2", sentAt: 30);

        _table.EmptySince.Should().BeNull();
        _table.Evaluate(At(61), mayExit: true).Exit.Should().BeFalse();
    }

    private long At(double seconds) => _t0 + TimeSpan.FromSeconds(seconds).Ticks;

    private LeaseRegistration Add(string holder, string path, double sentAt)
        => _table.Add(holder, path, At(sentAt), Soft, Hard, (sequence, bound) => new LeaseRegistration(_owner, holder, path, 1, sequence, bound, null));

    private sealed class NoTransport : IRenewalTransport
    {
        public Task<RenewResult> RenewAsync(string holder, CancellationToken cancellationToken) => throw new InvalidOperationException("the table calls no server");

        public Task<IReadOnlySet<string>> ListHeldPathsAsync(string holder, CancellationToken cancellationToken) => throw new InvalidOperationException("the table calls no server");

        public void Dispose()
        {
        }
    }
}
