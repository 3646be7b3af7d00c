using Google.Protobuf;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using Grpc.Core;
using LeaseService.Testing;

namespace LeaseService.Server.Tests;

/// <summary>Issue 3 end to end over gRPC: writers, the DataNode simulator, the monitor and recovery.</summary>
public sealed class BlockRecoveryEndToEndTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    private LeaseClient Client => _server.Client;

    public async Task InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task WriterStopsRenewing_MonitorRecoversFileToTheLengthEveryReplicaHas()
    {
        await Client.AddLeaseAsync("writer", "/wal/1", "host-a").DefaultTimeout();
        var first = await Client.AddBlockAsync("writer", "/wal/1").DefaultTimeout();
        await WriteAsync(first, 128, finalize: true);
        var second = await Client.AddBlockAsync("writer", "/wal/1").DefaultTimeout();
        await WriteAsync(second, 100, lengths: [100, 40, 70]); // The writer dies mid-block.

        await _server.AdvanceWithMonitorAsync(ServerFixture.Hard + (ServerFixture.Interval * 2));
        await WaitForRecoveriesAsync();

        var file = await Client.GetFileAsync("/wal/1").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(128 + 40);
        file.Blocks.Select(b => b.State).Should().Equal(BlockState.Complete, BlockState.Complete);
        var replicas = await Client.CallAsync(o => Client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = second.Block.BlockId }, o)).DefaultTimeout();
        replicas.Replicas.Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.NumBytes == 40);
    }

    [Fact]
    public async Task ForcedRecoverLease_PolledUntilClosed()
    {
        await Client.AddLeaseAsync("writer", "/wal/2").DefaultTimeout();
        var block = await Client.AddBlockAsync("writer", "/wal/2").DefaultTimeout();
        await WriteAsync(block, 77);

        var first = await Client.RecoverLeaseAsync("/wal/2", "hbase-master", force: true).DefaultTimeout();
        first.Closed.Should().BeFalse();
        first.Lease.State.Should().Be(LeaseState.Recovering);
        first.Lease.Holder.Should().Be("hbase-master");
        first.Lease.RecoveryId.Should().BeGreaterThan(block.Block.GenerationStamp);
        await WaitForRecoveriesAsync();

        var polled = await Client.RecoverLeaseAsync("/wal/2", "hbase-master", force: true).DefaultTimeout();
        polled.Closed.Should().BeTrue();
        polled.Length.Should().Be(77);
    }

    [Fact]
    public async Task AnotherWriterTakesOverAfterSoftLimit_OldWritersStaleWriteIsAborted()
    {
        var old = await Client.AddLeaseAsync("writer-1", "/wal/3").DefaultTimeout();
        var block = await Client.AddBlockAsync("writer-1", "/wal/3").DefaultTimeout();
        await WriteAsync(block, 10);
        _server.Time.Advance(ServerFixture.Soft + TimeSpan.FromSeconds(1)); // writer-1 is paused (GC, network).

        await FluentActions.Awaiting(() => Client.AddLeaseAsync("writer-2", "/wal/3")).Should().ThrowAsync<LeaseUnavailableException>();
        await WaitForRecoveriesAsync();
        var taken = await Client.AddLeaseAsync("writer-2", "/wal/3").DefaultTimeout();
        taken.Epoch.Should().BeGreaterThan(old.Epoch);

        // writer-1 wakes up and writes with what it had: refused, not silently appended.
        var stale = () => WriteAsync(block, 5, epoch: old.Epoch);
        (await stale.Should().ThrowAsync<LeaseFencedException>()).Which.StatusCode.Should().Be(StatusCode.Aborted);
        var staleNoEpoch = () => WriteAsync(block, 5, epoch: 0);
        await staleNoEpoch.Should().ThrowAsync<LeaseFencedException>("the block's generation stamp moved on too");
        await FluentActions.Awaiting(() => Client.AddBlockAsync("writer-1", "/wal/3")).Should().ThrowAsync<LeaseConflictException>();
        (await Client.GetFileAsync("/wal/3").DefaultTimeout()).Length.Should().Be(10);
    }

    [Fact]
    public async Task Simulator_ControlCallsAndBadInput()
    {
        var nodes = await Client.CallAsync(o => Client.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout();
        nodes.Datanodes.Select(n => n.DatanodeId).Should().Equal("dn-1", "dn-2", "dn-3");

        (await Client.CallAsync(o => Client.Simulator.StopDataNodeAsync(new DataNodeRequest { DatanodeId = "dn-2" }, o)).DefaultTimeout()).Running.Should().BeFalse();
        (await Client.CallAsync(o => Client.Simulator.RestartDataNodeAsync(new DataNodeRequest { DatanodeId = "dn-2" }, o)).DefaultTimeout()).Running.Should().BeTrue();
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.StopDataNodeAsync(new DataNodeRequest { DatanodeId = "dn-9" }, o)))
            .Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.InjectFailureAsync(new InjectFailureRequest { DatanodeId = "dn-1" }, o)))
            .Should().ThrowAsync<LeaseArgumentException>();
        (await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.StopDataNodeAsync(new DataNodeRequest(), o)))
            .Should().ThrowAsync<LeaseArgumentException>()).Which.Status.Detail.Should().StartWith("datanode_id must not be empty");
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.InjectFailureAsync(new InjectFailureRequest { Step = RecoveryStep.UpdateReplica }, o)))
            .Should().ThrowAsync<LeaseArgumentException>();
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.WriteBlockAsync(new WriteBlockRequest { BlockId = 424242, GenerationStamp = 1 }, o)))
            .Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.InjectFailureAsync(new InjectFailureRequest { DatanodeId = "dn-1", Step = RecoveryStep.UpdateReplica, Count = -1 }, o)))
            .Should().ThrowAsync<LeaseArgumentException>();
        await FluentActions.Awaiting(() => Client.CallAsync(o => Client.Simulator.WriteBlockAsync(new WriteBlockRequest { BlockId = 1, StopAfterReplicas = -1 }, o)))
            .Should().ThrowAsync<LeaseArgumentException>();
    }

    [Fact]
    public async Task RemoveLease_WhileLastBlockUnderRecovery_FailedPrecondition()
    {
        await Client.AddLeaseAsync("writer", "/wal/4").DefaultTimeout();
        var block = await Client.AddBlockAsync("writer", "/wal/4").DefaultTimeout();
        await WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            await Client.CallAsync(o => Client.Simulator.PauseDataNodeAsync(new DataNodeRequest { DatanodeId = dn }, o)).DefaultTimeout();
        }

        (await Client.RecoverLeaseAsync("/wal/4", "writer", force: true).DefaultTimeout()).Closed.Should().BeFalse();

        var act = () => Client.RemoveLeaseAsync("writer", "/wal/4");
        (await act.Should().ThrowAsync<LeaseConflictException>()).Which.Status.Detail.Should().Contain("recovery is in progress");
        (await Client.GetFileAsync("/wal/4").DefaultTimeout()).Blocks[0].State.Should().Be(BlockState.UnderRecovery);
        foreach (var dn in block.Block.Locations)
        {
            await Client.CallAsync(o => Client.Simulator.ResumeDataNodeAsync(new DataNodeRequest { DatanodeId = dn }, o)).DefaultTimeout();
        }

        await WaitForRecoveriesAsync();
        (await Client.GetFileAsync("/wal/4").DefaultTimeout()).UnderConstruction.Should().BeFalse();
    }

    private Task WaitForRecoveriesAsync() => _server.Leases.WhenRecoveriesIdleAsync().DefaultTimeout();

    private Task<WriteBlockResponse> WriteAsync(AddBlockResponse block, int bytes, bool finalize = false, ulong[]? lengths = null, ulong? epoch = null)
    {
        var request = new WriteBlockRequest
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = epoch ?? block.Epoch,
            Data = ByteString.CopyFrom(new byte[bytes]),
            Finalize = finalize,
        };
        request.ReplicaLengths.AddRange(lengths ?? []);
        return Client.CallAsync(o => Client.Simulator.WriteBlockAsync(request, o));
    }
}
