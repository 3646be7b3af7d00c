using LeaseService.Client;
using LeaseService.Contracts.V1;
using Grpc.Core;
using LeaseService.Testing;


namespace LeaseService.Server.Tests;

/// <summary>Each LeaseService RPC and each status it can return, over real HTTP/2.</summary>
public sealed class LeaseRpcTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    private LeaseClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task AddLease_NewPath_ReturnsActiveLeaseWithDurations()
    {
        var lease = await Client.AddLeaseAsync("writer-1", "/data/a", "host-a").DefaultTimeout();

        lease.Path.Should().Be("/data/a");
        lease.Holder.Should().Be("writer-1");
        lease.ClientMachine.Should().Be("host-a");
        lease.State.Should().Be(LeaseState.Active);
        lease.Epoch.Should().BeGreaterThan(0);
        lease.SoftLimitRemaining.ToTimeSpan().Should().Be(ServerFixture.Soft);
        lease.HardLimitRemaining.ToTimeSpan().Should().Be(ServerFixture.Hard);
        lease.LastRenewed.ToDateTimeOffset().Should().Be(_server.Time.GetUtcNow());
    }

    [Fact]
    public async Task AddLease_SameHolderTwice_IsIdempotent()
    {
        var first = await Client.AddLeaseAsync("writer-1", "/data/a").DefaultTimeout();
        var second = await Client.AddLeaseAsync("writer-1", "/data/a").DefaultTimeout();

        second.Epoch.Should().Be(first.Epoch);
    }

    [Fact]
    public async Task AddLease_HeldByAnother_FailedPreconditionNamingHolderAndMachine()
    {
        await Client.AddLeaseAsync("writer-1", "/data/a", "host-a").DefaultTimeout();

        var act = () => Client.AddLeaseAsync("writer-2", "/data/a", "host-b");

        var error = (await act.Should().ThrowAsync<LeaseConflictException>()).Which;
        error.StatusCode.Should().Be(StatusCode.FailedPrecondition);
        error.Status.Detail.Should().Contain("writer-1").And.Contain("host-a");
    }

    [Fact]
    public async Task AddLease_PastSoftLimit_NewWriterTakesOverWithHigherEpoch()
    {
        var old = await Client.AddLeaseAsync("writer-1", "/data/a").DefaultTimeout();
        _server.Time.Advance(ServerFixture.Soft + TimeSpan.FromSeconds(1));

        var taken = await Client.AddLeaseAsync("writer-2", "/data/a").DefaultTimeout();

        taken.Holder.Should().Be("writer-2");
        taken.Epoch.Should().BeGreaterThan(old.Epoch);
        await FluentActions.Awaiting(() => Client.RenewLeaseAsync("writer-1")).Should().ThrowAsync<LeaseNotFoundException>();
    }

    [Theory]
    [InlineData("", "/a")]
    [InlineData("writer", "relative")]
    [InlineData("writer", "/a/../b")]
    [InlineData("writer", "/a//b")]
    [InlineData("bad\nholder", "/a")]
    public async Task AddLease_InvalidInput_InvalidArgumentAndNothingChanges(string holder, string path)
    {
        var act = () => Client.AddLeaseAsync(holder, path);

        (await act.Should().ThrowAsync<LeaseArgumentException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
        (await Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
    }

    [Fact]
    public async Task RenewLease_RenewsAllPathsAndReportsLimits()
    {
        await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();
        await Client.AddLeaseAsync("writer-1", "/b").DefaultTimeout();
        _server.Time.Advance(TimeSpan.FromSeconds(5));

        var renewed = await Client.RenewLeaseAsync("writer-1").DefaultTimeout();

        renewed.LeasesRenewed.Should().Be(2);
        renewed.SoftLimit.ToTimeSpan().Should().Be(ServerFixture.Soft);
        renewed.HardLimit.ToTimeSpan().Should().Be(ServerFixture.Hard);
        (await Client.GetLeaseAsync("/b").DefaultTimeout()).SoftLimitRemaining.ToTimeSpan().Should().Be(ServerFixture.Soft);
    }

    [Fact]
    public async Task RenewLease_UnknownHolder_NotFound()
    {
        var act = () => Client.RenewLeaseAsync("nobody");

        (await act.Should().ThrowAsync<LeaseNotFoundException>()).Which.StatusCode.Should().Be(StatusCode.NotFound);
    }

    [Fact]
    public async Task RemoveLease_ClosesFile()
    {
        await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();

        (await Client.RemoveLeaseAsync("writer-1", "/a").DefaultTimeout()).Should().BeTrue();

        await FluentActions.Awaiting(() => Client.GetLeaseAsync("/a")).Should().ThrowAsync<LeaseNotFoundException>();
        var file = await Client.GetFileAsync("/a").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task RemoveLease_NotOpen_NotFound_OtherHolder_FailedPrecondition()
    {
        await FluentActions.Awaiting(() => Client.RemoveLeaseAsync("writer-1", "/missing")).Should().ThrowAsync<LeaseNotFoundException>();
        await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();
        await FluentActions.Awaiting(() => Client.RemoveLeaseAsync("writer-2", "/a")).Should().ThrowAsync<LeaseConflictException>();
    }

    [Fact]
    public async Task RecoverLease_Statuses()
    {
        await FluentActions.Awaiting(() => Client.RecoverLeaseAsync("/missing")).Should().ThrowAsync<LeaseNotFoundException>();
        var lease = await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();
        await FluentActions.Awaiting(() => Client.RecoverLeaseAsync("/a")).Should().ThrowAsync<LeaseConflictException>();

        var forced = await Client.RecoverLeaseAsync("/a", "operator", force: true).DefaultTimeout();

        forced.Closed.Should().BeTrue();
        (await Client.GetFileAsync("/a").DefaultTimeout()).Epoch.Should().BeGreaterThan(lease.Epoch);
        (await Client.RecoverLeaseAsync("/a").DefaultTimeout()).Closed.Should().BeTrue("a closed file is already recovered");
    }

    [Fact]
    public async Task GetLease_SoftExpired_ShowsStateAndRemainingHardLimit()
    {
        await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();
        _server.Time.Advance(TimeSpan.FromSeconds(12));

        var lease = await Client.GetLeaseAsync("/a").DefaultTimeout();

        lease.State.Should().Be(LeaseState.SoftExpired);
        lease.SoftLimitRemaining.ToTimeSpan().Should().Be(TimeSpan.Zero);
        lease.HardLimitRemaining.ToTimeSpan().Should().Be(TimeSpan.FromSeconds(18));
    }

    [Fact]
    public async Task ListLeases_PagesByHolderAndPrefix()
    {
        foreach (var i in Enumerable.Range(0, 7))
        {
            await Client.AddLeaseAsync(i % 2 == 0 ? "even" : "odd", $"/logs/{i}").DefaultTimeout();
        }

        await Client.AddLeaseAsync("even", "/other/x").DefaultTimeout();

        var first = await Client.ListLeasesAsync(pathPrefix: "/logs/", pageSize: 3).DefaultTimeout();
        first.Leases.Select(l => l.Path).Should().Equal("/logs/0", "/logs/1", "/logs/2");
        var all = new List<string>();
        await foreach (var lease in Client.ListAllLeasesAsync(holder: "even"))
        {
            all.Add(lease.Path);
        }

        all.Should().Equal("/logs/0", "/logs/2", "/logs/4", "/logs/6", "/other/x");
        await FluentActions.Awaiting(() => Client.ListLeasesAsync(pageSize: -1)).Should().ThrowAsync<LeaseArgumentException>();
        await FluentActions.Awaiting(() => Client.ListLeasesAsync(pageToken: "forged")).Should().ThrowAsync<LeaseArgumentException>();
    }

    [Fact]
    public async Task DeleteFile_OpenFile_RemovesFileAndLease_FormerHolderGetsNotFound_MissingPathNotFound()
    {
        await Client.AddLeaseAsync("writer-1", "/data/del").DefaultTimeout();
        await Client.AddLeaseAsync("writer-1", "/data/kept").DefaultTimeout();

        var deleted = await Client.DeleteFileAsync("/data/del").DefaultTimeout();

        deleted.Holder.Should().Be("writer-1");
        await Assert.ThrowsAsync<LeaseNotFoundException>(() => Client.GetFileAsync("/data/del"));
        await Assert.ThrowsAsync<LeaseNotFoundException>(() => Client.AddBlockAsync("writer-1", "/data/del"));
        (await Client.RenewLeaseAsync("writer-1").DefaultTimeout()).LeasesRenewed.Should().Be(1);
        var again = () => Client.DeleteFileAsync("/data/del");
        (await again.Should().ThrowAsync<LeaseNotFoundException>()).Which.Status.Detail.Should().Contain("/data/del");
        var invalid = () => Client.DeleteFileAsync("no-slash");
        (await invalid.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
    }

    [Fact]
    public async Task Monitor_PastHardLimit_RecoversLeaseWithoutAnyCall()
    {
        var lease = await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();

        await _server.AdvanceWithMonitorAsync(ServerFixture.Hard + ServerFixture.Interval + ServerFixture.Interval);

        await FluentActions.Awaiting(() => Client.GetLeaseAsync("/a")).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => Client.RenewLeaseAsync("writer-1")).Should().ThrowAsync<LeaseNotFoundException>();
        var file = await Client.GetFileAsync("/a").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Epoch.Should().BeGreaterThan(lease.Epoch);
    }

    [Fact]
    public async Task Monitor_RenewedLease_SurvivesPastHardLimit()
    {
        await Client.AddLeaseAsync("writer-1", "/a").DefaultTimeout();
        for (var i = 0; i < 10; i++)
        {
            await _server.AdvanceWithMonitorAsync(TimeSpan.FromSeconds(6));
            await Client.RenewLeaseAsync("writer-1").DefaultTimeout();
        }

        (await Client.GetLeaseAsync("/a").DefaultTimeout()).State.Should().Be(LeaseState.Active);
    }

    [Fact]
    public async Task Health_ServesOverallAndLeaseService()
    {
        (await Client.CheckHealthAsync().DefaultTimeout()).Should().Be(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        (await Client.CheckHealthAsync("leases.v1.LeaseService").DefaultTimeout()).Should().Be(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        await FluentActions.Awaiting(() => Client.CheckHealthAsync("nope")).Should().ThrowAsync<LeaseNotFoundException>();
    }
}
