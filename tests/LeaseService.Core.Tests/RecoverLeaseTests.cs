namespace LeaseService.Core.Tests;

public sealed class RecoverLeaseTests
{
    [Fact]
    public void RecoverLease_UnknownPath_ReturnsNotFound()
    {
        new LeaseManagerFixture().Manager.RecoverLease("/nope", null, force: false).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task RecoverLease_ClosedFile_ReturnsClosed()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        await f.Manager.RemoveLeaseAsync("c1", "/a");

        f.Manager.RecoverLease("/a", null, force: false).Value!.Closed.Should().BeTrue();
    }

    [Fact]
    public void RecoverLease_WithinSoftLimitWithoutForce_FailsAndChangesNothing()
    {
        var f = new LeaseManagerFixture();
        var lease = f.Add("c1", "/a", "host-a");

        var outcome = f.Manager.RecoverLease("/a", "ops", force: false);

        outcome.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        outcome.Message.Should().Contain("c1").And.Contain("soft limit");
        f.Manager.GetLease("/a").Value.Should().BeEquivalentTo(lease);
    }

    [Fact]
    public async Task RecoverLease_Forced_ClosesFileWithoutBlocksAndBumpsEpoch()
    {
        var f = new LeaseManagerFixture();
        var lease = f.Add("c1", "/a");

        var outcome = f.Manager.RecoverLease("/a", "ops", force: true);

        outcome.Value!.Closed.Should().BeTrue();
        f.Manager.GetFile("/a").Value!.Epoch.Should().BeGreaterThan(lease.Epoch);
        (await f.Manager.RenewLeaseAsync("c1")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public void RecoverLease_PastSoftLimit_ClosesWithoutForce()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Time.Advance(TimeSpan.FromSeconds(61));

        f.Manager.RecoverLease("/a", null, force: false).Value!.Closed.Should().BeTrue();
    }

    [Fact]
    public async Task RecoverLease_OneOfAHoldersPaths_TheOthersStayItsOnItsOwnClock()
    {
        var f = new LeaseManagerFixture();
        var other = f.Add("c1", "/a");
        f.Add("c1", "/b");
        f.Time.Advance(LeaseManagerFixture.Soft + TimeSpan.FromSeconds(1));

        f.Manager.RecoverLease("/b", "c2", force: false).Value!.Closed.Should().BeTrue();

        var kept = f.Manager.GetLease("/a").Value!;
        (kept.Holder, kept.Epoch, kept.State).Should().Be(("c1", other.Epoch, LeaseState.SoftExpired), "recovering /b neither takes nor renews the holder's other path");
        (await f.Manager.RenewLeaseAsync("c1")).Value.Should().Be(1);
        f.Time.Advance(LeaseManagerFixture.Hard);
        f.Pass().FilesExpired.Should().Be(0, "the renewal a hard limit ago still counts");
        f.Time.Advance(TimeSpan.FromTicks(1));
        f.Pass().FilesExpired.Should().Be(1);
        f.Manager.GetFile("/a").Value!.UnderConstruction.Should().BeFalse();
    }
}
