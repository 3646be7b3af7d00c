using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// Two writes of one block at once (a client's retry racing its original, two callers): a DataNode
/// takes one writer per replica (HDFS's BlockReceiver), so the second is refused before anything is
/// written and every replica takes the writes in one order.
/// </summary>
public sealed class ConcurrentWriteTests
{
    private readonly TestCluster _t = new();

    private Task<SimulatedWriteResult> WriteAsync(byte[] data, long? offset = null, bool finalize = false) =>
        _t.Cluster.WriteAsync(new PipelineWrite(_t.All, TestCluster.BlockId, TestCluster.BlockGs, data, Finalize: finalize, Offset: offset));

    private static byte[] Filled(byte value, int count) => Enumerable.Repeat(value, count).ToArray();

    private void ReplicasShouldHold(IEnumerable<byte> bytes)
    {
        foreach (var dataNode in _t.All)
        {
            _t.Cluster.ReadReplica(dataNode, TestCluster.BlockId).Should().Equal(bytes, dataNode);
        }
    }

    [Fact]
    public async Task Write_WhileAnotherWriteOfTheBlockIsInFlight_IsRefusedBeforeAnythingIsWritten_TheReplicasTakeTheFirstOnly()
    {
        await _t.WriteOkAsync(10);
        var held = _t.Cluster.HangDataNodeWrites("dn-2");
        var first = WriteAsync(Filled(0xAA, 5));
        await held.DefaultTimeout(); // dn-1 has the first write's bytes; dn-2 is about to take them.

        var second = await WriteAsync(Filled(0xBB, 7)).DefaultTimeout();

        second.Status.Should().Be(SimulatedWriteStatus.ConcurrentWrite, second.Message);
        second.FailedDataNodeId.Should().Be("dn-1");
        second.Message.Should().Contain("another write to the block is in progress").And.Contain("retry once it has ended");
        second.Replicas.Should().BeEmpty();
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().HaveCount(15, "the second write reached no replica");

        _t.Cluster.ReleaseDataNode("dn-2");
        (await first.DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.Written);
        ReplicasShouldHold(TestCluster.Bytes(10).Concat(Filled(0xAA, 5)));

        (await WriteAsync(Filled(0xBB, 7)).DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.Written, "the first write's hold ended with it");
        ReplicasShouldHold(TestCluster.Bytes(10).Concat(Filled(0xAA, 5)).Concat(Filled(0xBB, 7)));
    }

    [Fact]
    public async Task Write_RetryRacingItsOriginal_IsRefusedAsConcurrent_ThenRefusedAtItsOffset_AndAnEmptyWriteThereConfirmsIt()
    {
        await _t.WriteOkAsync(10);
        var held = _t.Cluster.HangDataNodeWrites("dn-2");
        var original = WriteAsync(Filled(0xAA, 5), offset: 10); // Its caller's deadline passes; it goes on.
        await held.DefaultTimeout();

        var retry = await WriteAsync(Filled(0xAA, 5), offset: 10).DefaultTimeout();

        retry.Status.Should().Be(SimulatedWriteStatus.ConcurrentWrite, "the original still holds the replicas; the retry must not conclude anything from them yet");
        _t.Cluster.ReleaseDataNode("dn-2");
        (await original.DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.Written);

        var again = await WriteAsync(Filled(0xAA, 5), offset: 10).DefaultTimeout();
        again.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        again.Message.Should().Contain("holds 15 bytes");
        var confirm = await WriteAsync([], offset: 15).DefaultTimeout();
        confirm.Status.Should().Be(SimulatedWriteStatus.Written, confirm.Message);
        confirm.Replicas.Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 15);
        ReplicasShouldHold(TestCluster.Bytes(10).Concat(Filled(0xAA, 5)));
    }

    [Fact]
    public async Task Write_RefusedAtADataNode_HoldsNoReplicaAfterIt()
    {
        var dn1Held = _t.Cluster.HangDataNodeWrites("dn-1");
        var holder = _t.Cluster.WriteAsync(new PipelineWrite(["dn-1"], TestCluster.BlockId, TestCluster.BlockGs, Filled(0xAA, 5)));
        await dn1Held.DefaultTimeout(); // holder holds dn-1.
        var dn3Hung = _t.Cluster.HangDataNode("dn-3");
        var refused = WriteAsync(Filled(0xBB, 5)); // Refused at dn-1; its setup goes on to dn-3 (is it fenced?).
        await dn3Hung.DefaultTimeout();

        var other = await _t.Cluster.WriteAsync(new PipelineWrite(["dn-2"], TestCluster.BlockId, TestCluster.BlockGs, Filled(0xCC, 5))).DefaultTimeout();

        other.Status.Should().Be(SimulatedWriteStatus.Written, "the refused write did not take dn-2 on its way: " + other.Message);
        _t.Cluster.ReleaseDataNode("dn-3");
        (await refused.DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.ConcurrentWrite);
        _t.Cluster.ReleaseDataNode("dn-1");
        (await holder.DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.Written);
    }

    [Fact]
    public async Task Write_RefusedAtSetup_LetsTheReplicasItHeldGo()
    {
        _t.Cluster.StopDataNode("dn-3");
        (await _t.WriteAsync(10)).Status.Should().Be(SimulatedWriteStatus.DataNodeUnavailable);
        _t.Cluster.RestartDataNode("dn-3");

        await _t.WriteOkAsync(10);
    }

    [Fact]
    public async Task Write_DataNodeRestartedBetweenSetupAndData_RefusesTheStreamItDropped()
    {
        var held = _t.Cluster.HangDataNodeWrites("dn-1");
        var write = WriteAsync(Filled(0xAA, 5));
        await held.DefaultTimeout(); // Set up on every DataNode; the data waits at the head.

        _t.Cluster.RestartDataNode("dn-1");
        _t.Cluster.ReleaseDataNode("dn-1");

        var result = await write.DefaultTimeout();
        result.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        result.FailedDataNodeId.Should().Be("dn-1");
        result.Message.Should().Contain("restarted since the pipeline was set up");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().BeEmpty();
    }
}
