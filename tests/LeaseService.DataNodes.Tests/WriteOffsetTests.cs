using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// Writes that name their offset in the block (HDFS packets carry theirs): a retry of a write whose
/// answer was lost is refused instead of appended twice.
/// </summary>
public sealed class WriteOffsetTests
{
    private readonly TestCluster _t = new();

    private Task<SimulatedWriteResult> WriteAtAsync(long? offset, int bytes, bool finalize = false, IReadOnlyList<string>? pipeline = null) =>
        _t.Cluster.WriteAsync(new PipelineWrite(pipeline ?? _t.All, TestCluster.BlockId, TestCluster.BlockGs, TestCluster.Bytes(bytes), Finalize: finalize, Offset: offset)).DefaultTimeout();

    [Fact]
    public async Task Write_AtTheOffsetWhereTheBlockEnds_IsWritten()
    {
        (await WriteAtAsync(0, 10)).Status.Should().Be(SimulatedWriteStatus.Written);

        var next = await WriteAtAsync(10, 5, finalize: true);

        next.Status.Should().Be(SimulatedWriteStatus.Written, next.Message);
        next.Replicas.Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 15 && r.State == ReplicaState.Finalized);
        _t.Cluster.ReadReplica("dn-3", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(10).Concat(TestCluster.Bytes(5)));
    }

    [Fact]
    public async Task Write_RetriedAtTheSameOffsetAfterItLanded_IsRefusedNamingTheLength_AndReplicasAreUnchanged()
    {
        await _t.WriteOkAsync(10);
        (await WriteAtAsync(10, 5)).Status.Should().Be(SimulatedWriteStatus.Written); // Its answer was lost.
        var before = _t.Cluster.ListReplicas(TestCluster.BlockId);

        var retry = await WriteAtAsync(10, 5);

        retry.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        retry.Message.Should().Be($"Block {TestCluster.BlockId} holds 15 bytes (its longest replica in the pipeline); the write starts at byte 10: nothing written.");
        retry.Replicas.Should().BeEmpty();
        retry.FailedDataNodeId.Should().BeNull("no DataNode refused: the block does not end at the offset");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().Equal(before);
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(10).Concat(TestCluster.Bytes(5)));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(11L)]
    public async Task Write_OffsetBeforeOrPastTheEnd_IsRefused_AndNothingIsWritten(long offset)
    {
        await _t.WriteOkAsync(10);

        var write = await WriteAtAsync(offset, 5, finalize: true);

        write.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        write.Message.Should().Contain("holds 10 bytes").And.Contain($"starts at byte {offset}");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 10 && r.State == ReplicaState.Rbw);
    }

    [Fact]
    public async Task Write_OffsetOnANewBlock_MustBeZero()
    {
        (await WriteAtAsync(3, 5)).Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().BeEmpty();

        (await WriteAtAsync(0, 5)).Status.Should().Be(SimulatedWriteStatus.Written);
    }

    [Fact]
    public async Task Write_OffsetIsWhereTheLongestReplicaEnds_AShorterOneStillBreaksThePipeline()
    {
        await _t.WriteOkAsync(10, lengths: [10, 10, 6]); // dn-3 missed the last 4 bytes.

        var next = await WriteAtAsync(10, 5);

        next.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        next.FailedDataNodeId.Should().Be("dn-3");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => r.NumBytes).Should().Equal(15, 15, 6);
    }

    [Fact]
    public async Task Write_WithoutOffset_AppendsWhereTheBlockEnds_AsBefore()
    {
        await _t.WriteOkAsync(10);

        (await WriteAtAsync(null, 10)).Status.Should().Be(SimulatedWriteStatus.Written);

        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 20, "a retry without an offset appends the bytes again");
    }

    [Fact]
    public async Task Close_RepeatedAtItsOffsetOnFinalizedReplicas_IsWritten_AndChangesNothing()
    {
        await _t.WriteOkAsync(10);
        (await WriteAtAsync(10, 5, finalize: true)).Status.Should().Be(SimulatedWriteStatus.Written); // Its answer was lost.
        var before = _t.Cluster.ListReplicas(TestCluster.BlockId);

        var again = await WriteAtAsync(15, 0, finalize: true);

        again.Status.Should().Be(SimulatedWriteStatus.Written, again.Message);
        again.Replicas.Should().Equal(before, "HDFS's recoverClose: replicas FINALIZED at the expected length take the close again");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().Equal(before);
    }

    [Fact]
    public async Task Close_RepeatedAtItsOffset_FinalizesTheReplicasTheFirstCloseMissed()
    {
        await _t.WriteOkAsync(10);
        await _t.WriteOkAsync(0, stopAfter: 1, finalize: true); // The close broke after dn-1.

        var again = await WriteAtAsync(10, 0, finalize: true);

        again.Status.Should().Be(SimulatedWriteStatus.Written, again.Message);
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 10 && r.State == ReplicaState.Finalized);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(10L)]
    [InlineData(20L)]
    public async Task Close_RepeatedOnFinalizedReplicas_WithoutOffsetOrElsewhere_IsRefusedAsBefore(long? offset)
    {
        await _t.WriteOkAsync(15, finalize: true);

        var again = await WriteAtAsync(offset, 0, finalize: true);

        again.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 15 && r.State == ReplicaState.Finalized);
    }

    [Fact]
    public async Task Write_NegativeOffset_ThrowsArgumentException()
    {
        var act = () => WriteAtAsync(-1, 1);

        await act.Should().ThrowAsync<ArgumentException>();
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().BeEmpty();
    }
}
