using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>Client writes through a pipeline, and the fencing a writer meets after its block was recovered.</summary>
public sealed class WriteFencingTests
{
    private readonly TestCluster _t = new();

    [Fact]
    public async Task Write_NewBlock_CreatesRbwReplicasAlongThePipeline()
    {
        var result = await _t.WriteAsync(100);

        result.Status.Should().Be(SimulatedWriteStatus.Written);
        result.FailedDataNodeId.Should().BeNull();
        result.Replicas.Should().Equal(_t.All.Select(dn => new SimulatedReplica(dn, TestCluster.BlockId, ReplicaState.Rbw, 100, TestCluster.BlockGs, 0)));
    }

    [Fact]
    public async Task Write_AfterABrokenPipeline_BreaksAtTheFirstDataNodeThatMissedData_AndRecoveryKeepsOneContent()
    {
        await _t.WriteOkAsync(10, stopAfter: 1); // The pipeline broke after dn-1: dn-2 and dn-3 have nothing.

        var next = await _t.WriteAsync(10); // Bytes 10-19 of the block: dn-2 and dn-3 would put them at 0.

        next.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        next.FailedDataNodeId.Should().Be("dn-2");
        next.Message.Should().Contain("at byte 10").And.Contain("holds 0 bytes");
        next.Replicas.Should().ContainSingle().Which.NumBytes.Should().Be(20);
        _t.ReplicaOrNull("dn-3").Should().BeNull();

        var result = await _t.RecoverAsync(1002, primary: "dn-2").DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, 1002, 20, ["dn-1"], DeleteBlock: false));
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(10).Concat(TestCluster.Bytes(10)));
    }

    [Fact]
    public async Task Write_AfterReplicasReceivedDifferentPrefixes_OnlyThoseEndingWhereTheHeadEndsTakeIt()
    {
        await _t.WriteOkAsync(100, lengths: [100, 100, 60]);

        var next = await _t.WriteAsync(5, finalize: true);

        next.FailedDataNodeId.Should().Be("dn-3");
        next.Replicas.Select(r => (r.DataNodeId, r.State, r.NumBytes)).Should().Equal(("dn-1", ReplicaState.Finalized, 105L), ("dn-2", ReplicaState.Finalized, 105L));
        _t.Replica("dn-3").Should().Match<SimulatedReplica>(r => r.State == ReplicaState.Rbw && r.NumBytes == 60, "it is still a prefix of the others");
    }

    [Fact]
    public async Task Write_WhenTheHeadMissedData_BreaksAtTheHead_AndRecoveryCutsEveryReplicaToOneContent()
    {
        await _t.WriteOkAsync(100, lengths: [60, 100, 100]); // The writer sent 100 bytes; the head kept 60.

        var next = await _t.WriteAsync(5); // Bytes 100-104: the head would put them at 60.

        next.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        next.FailedDataNodeId.Should().Be("dn-1");
        next.Replicas.Should().BeEmpty("nothing flows past the head");

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, 1002, 60, _t.All, DeleteBlock: false));
        foreach (var dn in _t.All)
        {
            _t.Cluster.ReadReplica(dn, TestCluster.BlockId).Should().Equal(TestCluster.Bytes(60), dn);
        }
    }

    [Fact]
    public async Task Write_PastTheBlockSize_IsRefused_AndNothingIsWritten()
    {
        var t = new TestCluster(blockSize: 150);
        await t.WriteOkAsync(100);

        var over = await t.WriteAsync(51);

        over.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        over.Message.Should().Contain("holds 100 bytes; 51 more would pass the block size (150 bytes): add a block");
        t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 100);
        await t.WriteOkAsync(50); // Up to the block size is fine.
    }

    [Fact]
    public async Task Write_SameGenerationStamp_AppendsTheBytes()
    {
        await _t.WriteOkAsync(100);

        await _t.WriteOkAsync(50);

        _t.Replica("dn-1").NumBytes.Should().Be(150);
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(100).Concat(TestCluster.Bytes(50)));
    }

    [Fact]
    public async Task Write_Finalize_FinalizesTheReplicasThatReceivedIt()
    {
        await _t.WriteOkAsync(100, stopAfter: 2, finalize: true);

        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => (r.DataNodeId, r.State))
            .Should().Equal(("dn-1", ReplicaState.Finalized), ("dn-2", ReplicaState.Finalized));
    }

    [Fact]
    public async Task Write_StopAfterReplicas_OnlyTheFirstDataNodesReceiveTheData()
    {
        await _t.WriteOkAsync(100);

        var result = await _t.WriteAsync(50, stopAfter: 1);

        result.Status.Should().Be(SimulatedWriteStatus.Written);
        result.Replicas.Select(r => r.DataNodeId).Should().Equal("dn-1");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => r.NumBytes).Should().Equal(150, 100, 100);
    }

    [Fact]
    public async Task Write_ReplicaLengths_EachReplicaGetsItsPrefixAndTheRestGetAll()
    {
        await _t.WriteOkAsync(100, lengths: [30, 70]);

        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => r.NumBytes).Should().Equal(30, 70, 100);
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(30));
    }

    [Fact]
    public async Task Write_ZeroLength_CreatesEmptyReplicas()
    {
        await _t.WriteOkAsync(0);

        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 0 && r.State == ReplicaState.Rbw);
    }

    [Fact]
    public async Task Write_OlderGenerationStamp_IsRefusedAsStale()
    {
        await _t.WriteOkAsync(100, gs: 1005);

        var result = await _t.WriteAsync(10, gs: 1004);

        result.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp);
        result.FailedDataNodeId.Should().Be("dn-1");
        result.Message.Should().Contain("1004").And.Contain("1005");
        _t.Replica("dn-1").NumBytes.Should().Be(100);
    }

    [Fact]
    public async Task Write_PausedWriterAfterItsBlockWasRecovered_IsRefusedAsStaleAndChangesNothing()
    {
        await _t.WriteOkAsync(100);
        var recovered = await _t.RecoverAsync(1002).DefaultTimeout();
        recovered.Should().BeOfType<BlockRecoveryCommitted>();

        var result = await _t.WriteAsync(10);

        result.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp);
        result.Replicas.Should().BeEmpty();
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 100 && r.GenerationStamp == 1002 && r.State == ReplicaState.Finalized);
    }

    [Fact]
    public async Task Write_ReplicaUnderRecovery_IsRefusedAsStale()
    {
        _t.Seed("dn-1", ReplicaState.Rur, 100, recoveryId: 1002);

        var result = await _t.WriteAsync(10, pipeline: ["dn-1"]);

        result.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp);
        result.Message.Should().Contain("under recovery 1002");
    }

    [Fact]
    public async Task Write_RwrReplicaAfterRestart_IsNotWritableAndNoDataNodeReceivesTheData()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.RestartDataNode("dn-2");

        var result = await _t.WriteAsync(10);

        result.Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
        result.FailedDataNodeId.Should().Be("dn-2");
        result.Replicas.Should().BeEmpty("pipeline setup fails before any data flows");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => r.NumBytes).Should().Equal(100, 100, 100);
    }

    [Fact]
    public async Task Write_FencedWriterWhoseFirstDataNodeMissedTheRecovery_IsStillRefusedAsStale()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.StopDataNode("dn-3");
        (await _t.RecoverAsync(1002).DefaultTimeout()).Should().BeOfType<BlockRecoveryCommitted>();
        _t.Cluster.RestartDataNode("dn-3");

        var result = await _t.WriteAsync(10, pipeline: ["dn-3", "dn-1", "dn-2"]);

        result.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp, "any DataNode that saw the recovery fences the writer");
        result.FailedDataNodeId.Should().Be("dn-1");
        _t.Replica("dn-3").NumBytes.Should().Be(100);
    }

    [Fact]
    public async Task Write_FinalizedReplicaAtTheSameGenerationStamp_IsNotWritable()
    {
        await _t.WriteOkAsync(100, finalize: true);

        (await _t.WriteAsync(10)).Status.Should().Be(SimulatedWriteStatus.ReplicaNotWritable);
    }

    [Fact]
    public async Task Write_NewerGenerationStampOnFinalizedReplica_ReopensItForAppend()
    {
        await _t.WriteOkAsync(100, finalize: true);

        await _t.WriteOkAsync(10, gs: 1010);

        _t.Replica("dn-1").Should().Be(new SimulatedReplica("dn-1", TestCluster.BlockId, ReplicaState.Rbw, 110, 1010, 0));
    }

    [Fact]
    public async Task Write_StoppedDataNodeInThePipeline_FailsSetupAndWritesNothing()
    {
        _t.Cluster.StopDataNode("dn-2");

        var result = await _t.WriteAsync(10);

        result.Status.Should().Be(SimulatedWriteStatus.DataNodeUnavailable);
        result.FailedDataNodeId.Should().Be("dn-2");
        result.Message.Should().Contain("dn-2 is not running");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().BeEmpty();
    }

    [Fact]
    public async Task Write_StoppedDataNodeBeyondStopAfterReplicas_DoesNotMatter()
    {
        _t.Cluster.StopDataNode("dn-3");

        var result = await _t.WriteAsync(10, stopAfter: 2);

        result.Status.Should().Be(SimulatedWriteStatus.Written);
        result.Replicas.Select(r => r.DataNodeId).Should().Equal("dn-1", "dn-2");
    }

    [Fact]
    public async Task Write_CallerCancelsOnceTheHeadHasTheBytes_TheyStillReachEveryDataNode_AndThePipelineStaysWhole()
    {
        await _t.WriteOkAsync(100);
        using var caller = new CancellationTokenSource();

        // Walk the write call by call (each DataNode hung until the write reaches it, and the next
        // one hung before this one is released) up to its data reaching dn-2: dn-1 has the bytes.
        var atDn2 = _t.Cluster.HangDataNode("dn-2");
        var atDn3 = _t.Cluster.HangDataNode("dn-3");
        var write = _t.Cluster.WriteAsync(new PipelineWrite(_t.All, TestCluster.BlockId, TestCluster.BlockGs, TestCluster.Bytes(10)), caller.Token);
        await atDn2.DefaultTimeout(); // Setup at dn-2.
        _t.Cluster.ReleaseDataNode("dn-2");
        await atDn3.DefaultTimeout(); // Setup at dn-3.
        atDn2 = _t.Cluster.HangDataNode("dn-2");
        _t.Cluster.ReleaseDataNode("dn-3");
        await atDn2.DefaultTimeout(); // Where the block ends, at dn-2.
        atDn3 = _t.Cluster.HangDataNode("dn-3");
        _t.Cluster.ReleaseDataNode("dn-2");
        await atDn3.DefaultTimeout(); // Where the block ends, at dn-3.
        atDn2 = _t.Cluster.HangDataNode("dn-2");
        _t.Cluster.ReleaseDataNode("dn-3");
        await atDn2.DefaultTimeout(); // The data at dn-2: dn-1 took it.
        _t.Replica("dn-1").NumBytes.Should().Be(110);

        await caller.CancelAsync(); // The client gives up (cancels, or its deadline passes).
        _t.Cluster.ReleaseDataNode("dn-2");

        // dn-1 forwards what it received, as a DataNode mirrors a packet whatever the client does.
        (await write.DefaultTimeout()).Status.Should().Be(SimulatedWriteStatus.Written);
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 110);
        await _t.WriteOkAsync(5); // Not a pipeline broken at a healthy dn-2 for the rest of the block.
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 115);
    }

    [Fact]
    public async Task Write_CallerCancelsBeforeTheDataFlows_NothingIsWritten()
    {
        await _t.WriteOkAsync(100);
        using var caller = new CancellationTokenSource();
        var atDn3 = _t.Cluster.HangDataNode("dn-3");
        var write = _t.Cluster.WriteAsync(new PipelineWrite(_t.All, TestCluster.BlockId, TestCluster.BlockGs, TestCluster.Bytes(10)), caller.Token);
        await atDn3.DefaultTimeout(); // Setup at dn-3.

        await caller.CancelAsync();

        await FluentActions.Awaiting(() => write).Should().ThrowAsync<OperationCanceledException>();
        _t.Cluster.ReleaseDataNode("dn-3");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 100);
    }

    [Fact]
    public async Task Write_UnknownDataNode_ThrowsNotFoundAndWritesNothing()
    {
        var act = () => _t.Cluster.WriteAsync(new PipelineWrite(["dn-1", "dn-9"], TestCluster.BlockId, TestCluster.BlockGs, TestCluster.Bytes(1)));

        (await act.Should().ThrowAsync<DataNodeNotFoundException>()).Which.DataNodeId.Should().Be("dn-9");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().BeEmpty();
    }

    public static TheoryData<PipelineWrite> InvalidWrites => new()
    {
        new PipelineWrite([], 1, 1001, new byte[1]),
        new PipelineWrite(["dn-1", "dn-1"], 1, 1001, new byte[1]),
        new PipelineWrite(["dn-1"], 1, 0, new byte[1]),
        new PipelineWrite(["dn-1"], 1, 1001, new byte[1], StopAfterReplicas: -1),
        new PipelineWrite(["dn-1"], 1, 1001, new byte[1], ReplicaLengths: [1, 1]),
        new PipelineWrite(["dn-1"], 1, 1001, new byte[1], ReplicaLengths: [2]),
        new PipelineWrite(["dn-1"], 1, 1001, new byte[1], ReplicaLengths: [-1]),
    };

    [Theory]
    [MemberData(nameof(InvalidWrites))]
    public async Task Write_InvalidRequest_ThrowsArgumentException(PipelineWrite write)
    {
        var act = () => _t.Cluster.WriteAsync(write);

        await act.Should().ThrowAsync<ArgumentException>();
    }
}
