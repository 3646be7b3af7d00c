using LeaseService.DataNodes;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>The manager's observable instruments follow its transitions exactly.</summary>
public sealed class MetricsTests : IDisposable
{
    private readonly MeterReader _metrics = new();

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task GrantsRenewalsReleases_CountedAndGaugesFollow()
    {
        var f = new LeaseManagerFixture(meter: _metrics.Meter);
        f.Add("h1", "/a");
        f.Add("h1", "/b");
        f.Add("h2", "/c");
        (await f.Manager.RenewLeaseAsync("h1")).IsOk.Should().BeTrue();
        (await f.Manager.RenewLeaseAsync("h1")).IsOk.Should().BeTrue();
        (await f.Manager.RenewLeaseAsync("nobody")).IsOk.Should().BeFalse();

        _metrics["leaseservice.lease.grants"].Should().Be(3);
        _metrics["leaseservice.lease.renewals"].Should().Be(2, "a holder without leases renews nothing");
        _metrics["leaseservice.leases"].Should().Be(2);
        _metrics["leaseservice.files.open"].Should().Be(3);
        _metrics["leaseservice.files"].Should().Be(3);

        (await f.Manager.RemoveLeaseAsync("h2", "/c")).Value.Should().BeTrue();

        _metrics["leaseservice.lease.releases"].Should().Be(1);
        _metrics["leaseservice.leases"].Should().Be(1);
        _metrics["leaseservice.files.open"].Should().Be(2);
        _metrics["leaseservice.files"].Should().Be(3, "a closed file stays in the namespace");
    }

    [Fact]
    public void SoftLimitTakeover_CountedWithTheNewGrant()
    {
        var f = new LeaseManagerFixture(meter: _metrics.Meter);
        f.Add("h1", "/a");
        f.Time.Advance(LeaseManagerFixture.Soft + TimeSpan.FromSeconds(1));

        f.Add("h2", "/a");

        _metrics["leaseservice.lease.takeovers"].Should().Be(1);
        _metrics["leaseservice.lease.grants"].Should().Be(2);
        _metrics["leaseservice.recoveries.started"].Should().Be(0, "a file without blocks closes at once");
    }

    [Fact]
    public void OldestOverdueAge_IsTimePastTheHardLimit_UntilTheMonitorExpiresIt()
    {
        var f = new LeaseManagerFixture(meter: _metrics.Meter);
        f.Add("h1", "/a");
        f.Time.Advance(LeaseManagerFixture.Hard);
        _metrics["leaseservice.lease.oldest_overdue_age"].Should().Be(0, "exactly at the hard limit is not past it");

        f.Time.Advance(TimeSpan.FromSeconds(5));
        _metrics["leaseservice.lease.oldest_overdue_age"].Should().Be(5);

        f.Pass().FilesClosed.Should().Be(1);
        _metrics["leaseservice.lease.expiries"].Should().Be(1);
        _metrics["leaseservice.lease.oldest_overdue_age"].Should().Be(0);
        _metrics["leaseservice.leases"].Should().Be(0);
    }

    [Fact]
    public void RecoverLease_CountedOncePerRecoveryStarted()
    {
        var f = new LeaseManagerFixture(meter: _metrics.Meter);
        f.Add("h1", "/a");

        f.Manager.RecoverLease("/a", "ops", force: false).IsOk.Should().BeFalse("within the soft limit");
        f.Manager.RecoverLease("/a", "ops", force: true).Value!.Closed.Should().BeTrue();
        f.Manager.RecoverLease("/a", "ops", force: true).Value!.Closed.Should().BeTrue("already closed: nothing to recover");

        _metrics["leaseservice.lease.recovery_requests"].Should().Be(1);
    }

    [Fact]
    public async Task BlockRecovery_StartedAndSucceeded_BacklogBackToZero()
    {
        var f = new RecoveryFixture(meter: _metrics.Meter);
        f.Open("writer", "/a");
        var block = await f.AddBlockAsync("writer", "/a");
        await f.WriteAsync(block, 40);

        (await f.RecoverAsync("/a")).Closed.Should().BeFalse("the last block needs block recovery");

        _metrics["leaseservice.recoveries.started"].Should().Be(1);
        _metrics["leaseservice.recoveries.succeeded"].Should().Be(1);
        _metrics["leaseservice.recoveries.failed"].Should().Be(0);
        _metrics["leaseservice.recoveries.backlog"].Should().Be(0);
        f.File("/a").UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task BlockRecovery_FailedThenRetried_CountsEachAttempt()
    {
        var f = new RecoveryFixture(meter: _metrics.Meter);
        f.Open("writer", "/a");
        var block = await f.AddBlockAsync("writer", "/a");
        await f.WriteAsync(block, 50);
        foreach (var dn in block.Block.Locations)
        {
            f.Cluster.InjectFailure(dn, RecoveryStep.InitReplicaRecovery);
        }

        await f.RecoverAsync("/a");
        _metrics["leaseservice.recoveries.started"].Should().Be(1);
        _metrics["leaseservice.recoveries.failed"].Should().Be(1);
        _metrics["leaseservice.recoveries.backlog"].Should().Be(1, "the failed attempt waits for the recovery timeout");

        await f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));

        _metrics["leaseservice.recoveries.retried"].Should().Be(1);
        _metrics["leaseservice.recoveries.succeeded"].Should().Be(1);
        _metrics["leaseservice.recoveries.backlog"].Should().Be(0);
    }

    [Fact]
    public async Task BlockRecovery_NoLiveReplica_CountedAsAFailedAttempt()
    {
        var f = new RecoveryFixture(meter: _metrics.Meter);
        f.Open("writer", "/a");
        var block = await f.AddBlockAsync("writer", "/a");
        await f.WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            f.Cluster.StopDataNode(dn);
        }

        (await f.RecoverAsync("/a")).Closed.Should().BeFalse();

        _metrics["leaseservice.recoveries.started"].Should().Be(1);
        _metrics["leaseservice.recoveries.failed"].Should().Be(1, "no primary could be chosen");
        _metrics["leaseservice.recoveries.backlog"].Should().Be(1);
    }

    [Fact]
    public void WithoutMeter_NoInstruments_AndTheManagerWorks()
    {
        var f = new LeaseManagerFixture();
        f.Add("h1", "/a");

        var read = () => _metrics["leaseservice.lease.grants"];
        read.Should().Throw<KeyNotFoundException>();
    }
}
