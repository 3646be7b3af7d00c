using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using Grpc.Core;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// Lease expiry and recovery on the server's manual clock: a test moves lease time with
/// TestClock.Advance (which returns after the monitor passes it caused) and waits for background
/// block recoveries with TestClock.WaitForRecoveries. No sleeping, no polling.
/// </summary>
public sealed class RecoveryScenarioTests(SharedServer server, ITestOutputHelper output) : SharedServerTests(server, output)
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task SoftLimit_AnotherWriterTakesOver_OldWriterIsFenced()
    {
        var (writer, taker) = (ServerTarget.Unique("writer"), ServerTarget.Unique("taker"));
        var path = $"/it/{writer}/wal";
        var old = await Client.AddLeaseAsync(writer, path).DefaultTimeout();
        var block = await Client.AddBlockAsync(writer, path).DefaultTimeout();
        await WriteAsync(block, 10);

        await Clock.AdvanceAsync(Server.SoftLimit - Second);
        await FluentActions.Awaiting(() => Client.AddLeaseAsync(taker, path)).Should().ThrowAsync<LeaseConflictException>("within the soft limit the lease holds");

        await Clock.AdvanceAsync(2 * Second); // writer stopped renewing: past the soft limit.
        (await Client.GetLeaseAsync(path).DefaultTimeout()).State.Should().Be(LeaseState.SoftExpired);
        await FluentActions.Awaiting(() => Client.AddLeaseAsync(taker, path)).Should().ThrowAsync<LeaseUnavailableException>("recovery of the open block starts; retry");
        await Clock.WaitForRecoveriesAsync();
        var taken = await Client.AddLeaseAsync(taker, path).DefaultTimeout();

        taken.Holder.Should().Be(taker);
        taken.Epoch.Should().BeGreaterThan(old.Epoch);
        var stale = await FluentActions.Awaiting(() => WriteAsync(block, 5, epoch: old.Epoch)).Should().ThrowAsync<LeaseFencedException>();
        stale.Which.StatusCode.Should().Be(StatusCode.Aborted);
        await FluentActions.Awaiting(() => Client.RenewLeaseAsync(writer)).Should().ThrowAsync<LeaseNotFoundException>("the old writer lost its lease");
        (await Client.GetFileAsync(path).DefaultTimeout()).Length.Should().Be(10);
        (await Client.RemoveLeaseAsync(taker, path).DefaultTimeout()).Should().BeTrue();
    }

    [Fact]
    public async Task HardLimit_MonitorRecoversTheFileToTheLengthEveryReplicaHas()
    {
        var writer = ServerTarget.Unique("writer");
        var path = $"/it/{writer}/wal";
        await Client.AddLeaseAsync(writer, path).DefaultTimeout();
        var first = await Client.AddBlockAsync(writer, path).DefaultTimeout();
        await WriteAsync(first, 128, finalize: true);
        var second = await Client.AddBlockAsync(writer, path).DefaultTimeout();
        await WriteAsync(second, 100, lengths: [100, 40, 70]); // The writer dies mid-block.

        await Clock.AdvanceAsync(Server.HardLimit - Server.MonitorInterval);
        var before = await Client.GetLeaseAsync(path).DefaultTimeout();
        before.State.Should().Be(LeaseState.SoftExpired, "short of the hard limit the monitor leaves it alone");
        before.Holder.Should().Be(writer);

        var moved = await Clock.AdvanceAsync(2 * Server.MonitorInterval);
        moved.MonitorPasses.Should().BeGreaterThanOrEqualTo(1);
        await Clock.WaitForRecoveriesAsync();

        var file = await Client.GetFileAsync(path).DefaultTimeout();
        file.UnderConstruction.Should().BeFalse("the monitor recovered the lease past the hard limit");
        file.Length.Should().Be(128 + 40);
        file.Blocks.Select(b => b.State).Should().Equal(BlockState.Complete, BlockState.Complete);
        (await Simulator.ReplicasAsync(Client, second.Block.BlockId)).Replicas.Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.NumBytes == 40);
        await FluentActions.Awaiting(() => Client.GetLeaseAsync(path)).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => Client.RenewLeaseAsync(writer)).Should().ThrowAsync<LeaseNotFoundException>();
    }

    [Fact]
    public async Task ForcedRecovery_PolledUntilClosed()
    {
        var writer = ServerTarget.Unique("writer");
        var ops = ServerTarget.Unique("ops");
        var path = $"/it/{writer}/wal";
        await Client.AddLeaseAsync(writer, path).DefaultTimeout();
        var block = await Client.AddBlockAsync(writer, path).DefaultTimeout();
        await WriteAsync(block, 77);

        var first = await Client.RecoverLeaseAsync(path, ops, force: true).DefaultTimeout();
        first.Closed.Should().BeFalse();
        first.Lease.State.Should().Be(LeaseState.Recovering);
        first.Lease.Holder.Should().Be(ops);
        first.Lease.RecoveryId.Should().BeGreaterThan(block.Block.GenerationStamp);
        await Clock.WaitForRecoveriesAsync();

        var polled = await Client.RecoverLeaseAsync(path, ops, force: true).DefaultTimeout();
        polled.Closed.Should().BeTrue();
        polled.Length.Should().Be(77);
        await FluentActions.Awaiting(() => Client.RemoveLeaseAsync(writer, path)).Should().ThrowAsync<LeaseServiceException>("the file is closed; the writer's lease is gone");
    }

    [Fact]
    public async Task BlockRecovery_WithAStoppedDataNode_AgreesOnTheLiveReplicas()
    {
        var writer = ServerTarget.Unique("writer");
        var path = $"/it/{writer}/wal";
        await Client.AddLeaseAsync(writer, path).DefaultTimeout();
        var block = await Client.AddBlockAsync(writer, path).DefaultTimeout();
        var locations = block.Block.Locations;
        await WriteAsync(block, 90, lengths: [90, 50, 70]);
        await Simulator.StopAsync(Client, locations[1]);
        try
        {
            (await Client.RecoverLeaseAsync(path, writer, force: true).DefaultTimeout()).Closed.Should().BeFalse();
            await Clock.WaitForRecoveriesAsync();

            var closed = await Client.RecoverLeaseAsync(path, writer, force: true).DefaultTimeout();
            closed.Closed.Should().BeTrue();
            closed.Length.Should().Be(70, "RBW replicas agree on the shortest length among the live ones (90 and 70)");
            var replicas = (await Simulator.ReplicasAsync(Client, block.Block.BlockId)).Replicas;
            replicas.Where(r => r.DatanodeId != locations[1]).Should().HaveCount(2).And.OnlyContain(r => r.State == ReplicaState.Finalized && r.NumBytes == 70);
            var file = await Client.GetFileAsync(path).DefaultTimeout();
            file.Blocks.Should().ContainSingle().Which.Locations.Should().BeEquivalentTo(new[] { locations[0], locations[2] });
        }
        finally
        {
            await Simulator.RestartAsync(Client, locations[1]);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3 * 24 * 3600)] // Over the per-call cap: one monitor pass per interval crossed.
    public async Task TestClock_AdvanceOutOfRange_InvalidArgument_TimeDoesNotMove(int seconds)
    {
        var before = await Clock.NowAsync();

        var act = () => Clock.AdvanceAsync(TimeSpan.FromSeconds(seconds));

        (await act.Should().ThrowAsync<LeaseArgumentException>()).Which.StatusCode.Should().Be(StatusCode.InvalidArgument);
        (await Clock.NowAsync()).Elapsed.Should().Be(before.Elapsed);
    }
}
