using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests.Failover;

/// <summary>
/// A client of several replicas against real servers over HTTP/2, two of them (each with its own
/// fake clock, soft 10 s, hard 30 s) switchable between active and standby (<see cref="StandbySwitch"/>).
/// </summary>
public sealed class RealReplicaFailoverTests : IAsyncLifetime
{
    private readonly StandbySwitch _switch1 = new();
    private readonly StandbySwitch _switch2 = new();
    private ServerFixture _replica1 = null!;
    private ServerFixture _replica2 = null!;

    public async Task InitializeAsync()
    {
        _replica1 = await ServerFixture.StartAsync(_switch1.AddTo);
        _replica2 = await ServerFixture.StartAsync(_switch2.AddTo);
    }

    public async Task DisposeAsync()
    {
        await _replica1.DisposeAsync();
        await _replica2.DisposeAsync();
    }

    [Fact]
    public async Task FirstAddressIsAStandby_CallsFollowItsLeaderUrl_AndStayOnTheActive()
    {
        _switch1.BecomeStandby(_replica2.Address);
        using var client = LeaseClient.Create($"{_replica1.Address},{_replica2.Address}");

        var lease = await client.AddLeaseAsync("w", "/ha/a", "host").DefaultTimeout();
        await client.RenewLeaseAsync("w").DefaultTimeout();
        (await client.AddBlockAsync("w", "/ha/a").DefaultTimeout()).Block.Locations.Should().NotBeEmpty();

        (await _replica2.Client.GetLeaseAsync("/ha/a").DefaultTimeout()).Epoch.Should().Be(lease.Epoch);
        client.ActiveAddress.Should().Be(new Uri(_replica2.Address));
        _switch1.Refused.Should().Be(1, "only the first call went to the standby");
        _switch1.BecomeActive();
        (await _replica1.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty("the standby applied nothing");
    }

    [Fact]
    public async Task UnreachableAndHintlessStandby_NextAddressReached()
    {
        _switch1.BecomeStandby(leaderUrl: null);
        using var client = LeaseClient.Create([LoopbackPorts.RefusedAddress(), _replica1.Address, _replica2.Address]);

        (await client.AddLeaseAsync("w", "/ha/b").DefaultTimeout()).Holder.Should().Be("w");

        client.ActiveAddress.Should().Be(new Uri(_replica2.Address));
        (await _replica2.Client.GetLeaseAsync("/ha/b").DefaultTimeout()).Holder.Should().Be("w");
    }

    [Fact]
    public async Task LeaderUrlNotConfigured_NotFollowed()
    {
        // replica1 names replica2, which this client was not given: it is not contacted.
        _switch1.BecomeStandby(_replica2.Address);
        using var client = LeaseClient.Create([_replica1.Address, LoopbackPorts.RefusedAddress()], new LeaseClientOptions { FailoverAttempts = 3, FailoverBackoff = TimeSpan.Zero, FailoverMaxBackoff = TimeSpan.Zero });

        await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/ha/c")).Should().ThrowAsync<LeaseUnavailableException>();

        (await _replica2.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
    }

    [Fact]
    public async Task Renewer_KeepsTheLeaseThroughAFailover_WithoutTheApplicationNoticing()
    {
        _switch2.BecomeStandby(_replica1.Address);
        var clock = new RenewerTestClock(_replica1.Time);
        using var client = LeaseClient.Create($"{_replica1.Address},{_replica2.Address}");
        await using var factory = new LeaseRenewerFactory(new LeaseRenewerOptions { TimeProvider = clock, RetryJitter = 0 });
        var renewer = factory.GetRenewer(client, "etl");
        await using var writer = await LeaseWriter.OpenAsync(client, renewer, "etl-7", "/ha/log").DefaultTimeout();
        await AdvanceAsync(clock, TimeSpan.FromSeconds(12));

        // The failover: replica2 takes over with the state (as the etcd-backed replicas share it),
        // replica1 becomes a standby naming it.
        _switch2.BecomeActive();
        await _replica2.Client.AddLeaseAsync("etl-7", "/ha/log").DefaultTimeout();
        _switch1.BecomeStandby(_replica2.Address);
        await AdvanceAsync(clock, TimeSpan.FromSeconds(45));

        writer.Registration.IsHeld.Should().BeTrue();
        renewer.GetStatus("etl-7")!.State.Should().Be(LeaseHolderState.Held);
        client.ActiveAddress.Should().Be(new Uri(_replica2.Address));
        var lease = await _replica2.Client.GetLeaseAsync("/ha/log").DefaultTimeout();
        lease.Holder.Should().Be("etl-7");
        lease.State.Should().Be(LeaseState.Active, "renewed on the new active past its hard limit (30 s)");
        _switch1.Refused.Should().BeGreaterThan(0, "a renewal went to the old active and was sent on");
    }

    /// <summary>Advances both replicas' clocks (and so the renewer's) a second at a time, letting the renewer and monitors finish each step.</summary>
    private async Task AdvanceAsync(RenewerTestClock clock, TimeSpan total)
    {
        var step = TimeSpan.FromSeconds(1);
        for (var done = TimeSpan.Zero; done < total; done += step)
        {
            await clock.WhenIdleAsync().DefaultTimeout();
            await _replica2.AdvanceWithMonitorAsync(step);
            await _replica1.AdvanceWithMonitorAsync(step);
            await clock.WhenIdleAsync().DefaultTimeout();
        }
    }
}
