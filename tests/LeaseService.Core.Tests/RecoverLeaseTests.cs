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
}
