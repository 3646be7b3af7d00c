namespace LeaseService.Core.Tests;

public sealed class RenewAndRemoveTests
{
    [Fact]
    public async Task RenewLease_UnknownHolder_ReturnsNotFound()
    {
        var f = new LeaseManagerFixture();

        (await f.Manager.RenewLeaseAsync("nobody")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task RenewLease_RenewsAllPathsWithOneCall()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Add("c1", "/b");
        f.Add("c2", "/c");
        f.Time.Advance(TimeSpan.FromSeconds(45));

        var renewed = await f.Manager.RenewLeaseAsync("c1");

        renewed.Value.Should().Be(2);
        f.Manager.GetLease("/a").Value!.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft);
        f.Manager.GetLease("/b").Value!.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft);
        f.Manager.GetLease("/c").Value!.SoftLimitRemaining.Should().Be(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task RenewLease_ThroughAnyPath_KeepsEveryPathFromTakeoverForAFullSoftLimitFromThatRenewal()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a", "host-a");
        f.Add("c1", "/b", "host-a");
        f.Time.Advance(TimeSpan.FromSeconds(59));
        (await f.Manager.RenewLeaseAsync("c1")).Value.Should().Be(2);
        f.Time.Advance(LeaseManagerFixture.Soft); // 119 s after /a was opened, exactly a soft limit after the renewal.

        f.Manager.AddLease("c2", "/a", "host-b").Kind.Should().Be(OutcomeKind.FailedPrecondition, "the soft limit runs from the holder's last renewal, not the path's grant");
        f.Manager.RecoverLease("/b", "c2", force: false).Kind.Should().Be(OutcomeKind.FailedPrecondition);
        f.Time.Advance(TimeSpan.FromTicks(1));

        f.Manager.AddLease("c2", "/a", "host-b").Value!.Holder.Should().Be("c2");
        f.Manager.RecoverLease("/b", "c2", force: false).Value!.Closed.Should().BeTrue();
    }

    [Fact]
    public void GetLease_PastSoftLimit_ShowsSoftExpiredWithRemainingHardLimit()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Time.Advance(TimeSpan.FromSeconds(90));

        var lease = f.Manager.GetLease("/a").Value!;

        lease.State.Should().Be(LeaseState.SoftExpired);
        lease.SoftLimitRemaining.Should().Be(TimeSpan.Zero);
        lease.HardLimitRemaining.Should().Be(LeaseManagerFixture.Hard - TimeSpan.FromSeconds(90));
        lease.LastRenewed.Should().Be(f.Time.GetUtcNow() - TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task RemoveLease_Holder_ClosesFileAndReleasesLease()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");

        var closed = await f.Manager.RemoveLeaseAsync("c1", "/a");

        closed.Value.Should().BeTrue();
        f.Manager.GetLease("/a").Kind.Should().Be(OutcomeKind.NotFound);
        f.Manager.GetFile("/a").Value!.UnderConstruction.Should().BeFalse();
        (await f.Manager.RenewLeaseAsync("c1")).Kind.Should().Be(OutcomeKind.NotFound);
        f.Manager.GetStatistics().Should().Be(new LeaseStatistics(0, 0, 1, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task RemoveLease_NotOpen_ReturnsNotFound()
    {
        var f = new LeaseManagerFixture();

        (await f.Manager.RemoveLeaseAsync("c1", "/missing")).Kind.Should().Be(OutcomeKind.NotFound);
        f.Add("c1", "/a");
        await f.Manager.RemoveLeaseAsync("c1", "/a");
        (await f.Manager.RemoveLeaseAsync("c1", "/a")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task RemoveLease_OtherHolder_FailsAndChangesNothing()
    {
        var f = new LeaseManagerFixture();
        var lease = f.Add("c1", "/a");

        var outcome = await f.Manager.RemoveLeaseAsync("c2", "/a");

        outcome.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        outcome.Message.Should().Contain("c1");
        f.Manager.GetLease("/a").Value.Should().BeEquivalentTo(lease);
    }

    [Fact]
    public async Task RemoveLease_OneOfTwoPaths_KeepsTheHolderLeaseForTheOther()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Add("c1", "/b");

        await f.Manager.RemoveLeaseAsync("c1", "/a");

        (await f.Manager.RenewLeaseAsync("c1")).Value.Should().Be(1);
    }
}
