using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests;

/// <summary>
/// The ownership rule: a holder name belongs to the principal that first took a lease with it,
/// for as long as the holder holds anything; another principal using it is refused and nothing changes.
/// </summary>
public sealed class OwnershipTests
{
    private readonly LeaseManagerFixture _f = new(TestDataNodes.Live("dn-1", "dn-2", "dn-3"));

    [Fact]
    public async Task AddLease_HolderOwnedByAnotherPrincipal_IsPermissionDeniedAndChangesNothing()
    {
        var granted = Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));

        var denied = await _f.Manager.AddLeaseAsync("etl", "/b", "m", principal: "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        denied.Message.Should().Contain("etl").And.NotContain("alice", "the owner is not disclosed");
        _f.Manager.GetFile("/b").Kind.Should().Be(OutcomeKind.NotFound);
        _f.Manager.GetLease("/a").Value!.Epoch.Should().Be(granted.Epoch);
    }

    [Fact]
    public async Task AddLease_SamePrincipal_UsesItsHolderAgain()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));

        Ok(await _f.Manager.AddLeaseAsync("etl", "/b", "m", principal: "alice"));

        (await _f.Manager.RenewLeaseAsync("etl", "alice")).Value.Should().Be(2);
    }

    [Fact]
    public async Task RenewLease_HolderOwnedByAnotherPrincipal_IsPermissionDeniedAndDoesNotRenew()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));
        _f.Time.Advance(TimeSpan.FromSeconds(30));

        var denied = await _f.Manager.RenewLeaseAsync("etl", "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        _f.Manager.GetLease("/a").Value!.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft - TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task RemoveLease_HolderOwnedByAnotherPrincipal_IsPermissionDeniedAndTheFileStaysOpen()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));

        var denied = await _f.Manager.RemoveLeaseAsync("etl", "/a", "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        _f.Manager.GetFile("/a").Value!.UnderConstruction.Should().BeTrue();
        Ok(await _f.Manager.RemoveLeaseAsync("etl", "/a", "alice")).Should().BeTrue();
    }

    [Fact]
    public async Task AddBlock_HolderOwnedByAnotherPrincipal_IsPermissionDeniedAndAllocatesNothing()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));

        var denied = await _f.Manager.AddBlockAsync("etl", "/a", "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        _f.Manager.GetFile("/a").Value!.Blocks.Should().BeEmpty();
        Ok(await _f.Manager.AddBlockAsync("etl", "/a", "alice"));
    }

    [Fact]
    public async Task Holder_AfterItHoldsNothing_BelongsToTheNextPrincipalThatTakesIt()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));
        Ok(await _f.Manager.RemoveLeaseAsync("etl", "/a", "alice")).Should().BeTrue();

        Ok(await _f.Manager.AddLeaseAsync("etl", "/b", "m", principal: "bob"));

        (await _f.Manager.AddLeaseAsync("etl", "/c", "m", principal: "alice")).Kind.Should().Be(OutcomeKind.PermissionDenied);
    }

    [Fact]
    public async Task Calls_WithoutPrincipal_AreNotChecked()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));

        (await _f.Manager.RenewLeaseAsync("etl")).Value.Should().Be(1, "without authentication there is no principal to check");
    }

    [Fact]
    public async Task OwnerlessHolder_IsUsableByAnyPrincipal()
    {
        Ok(await _f.Manager.AddLeaseAsync("legacy", "/a", "m"));

        (await _f.Manager.RenewLeaseAsync("legacy", "bob")).Value.Should().Be(1);
        Ok(await _f.Manager.AddLeaseAsync("legacy", "/b", "m", principal: "carol"));
    }

    [Fact]
    public async Task RecoverLease_RequesterOwnedByAnotherPrincipal_IsPermissionDeniedAndChangesNothing()
    {
        var held = Ok(await _f.Manager.AddLeaseAsync("w", "/a", "m", principal: "alice"));
        Ok(await _f.Manager.AddLeaseAsync("etl", "/b", "m", principal: "alice"));

        var denied = await _f.Manager.RecoverLeaseAsync("/a", "etl", force: true, principal: "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        var lease = _f.Manager.GetLease("/a").Value!;
        (lease.Holder, lease.Epoch).Should().Be(("w", held.Epoch));
    }

    [Fact]
    public async Task ListLeases_WithOwner_ListsOnlyTheOwnersHoldersInPathOrderAcrossPages()
    {
        Ok(await _f.Manager.AddLeaseAsync("a1", "/x/3", "m", principal: "alice"));
        Ok(await _f.Manager.AddLeaseAsync("a2", "/x/1", "m", principal: "alice"));
        Ok(await _f.Manager.AddLeaseAsync("a2", "/x/4", "m", principal: "alice"));
        Ok(await _f.Manager.AddLeaseAsync("b1", "/x/2", "m", principal: "bob"));
        Ok(await _f.Manager.AddLeaseAsync("anon", "/x/0", "m"));

        var first = Ok(await _f.Manager.ListLeasesAsync(null, "/x/", 2, null, owner: "alice"));
        var second = Ok(await _f.Manager.ListLeasesAsync(null, "/x/", 2, first.NextPageToken, owner: "alice"));
        var othersHolder = Ok(await _f.Manager.ListLeasesAsync("b1", null, 10, null, owner: "alice"));
        var everything = Ok(await _f.Manager.ListLeasesAsync(null, null, 10, null));

        first.Leases.Select(l => l.Path).Should().Equal("/x/1", "/x/3");
        second.Leases.Select(l => l.Path).Should().Equal("/x/4");
        second.NextPageToken.Should().BeEmpty();
        othersHolder.Leases.Should().BeEmpty();
        everything.Leases.Should().HaveCount(5, "without an owner filter (an admin) everything is listed");
    }
}
