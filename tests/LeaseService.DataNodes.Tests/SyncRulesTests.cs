using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// The primary's sync rules (BlockRecoveryWorker.RecoveryTaskContiguous), end to end through
/// <see cref="IDataNodeCoordinator.RecoverBlockAsync"/>: which replicas take part, and the length.
/// </summary>
public sealed class SyncRulesTests
{
    private const long RecoveryId = 1002;
    private readonly TestCluster _t = new();

    [Fact]
    public async Task AllRbwOfEqualLength_CommitsTheLengthOnEveryLocationAndFinalizesAtTheRecoveryId()
    {
        await _t.WriteOkAsync(100);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, RecoveryId, 100, ["dn-1", "dn-2", "dn-3"], DeleteBlock: false));
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.GenerationStamp == RecoveryId && r.NumBytes == 100);
    }

    [Fact]
    public async Task FinalizedAndRbwOfEqualLength_RbwJoins()
    {
        await _t.WriteOkAsync(100);
        await _t.WriteOkAsync(0, stopAfter: 1, finalize: true);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(100);
        commit.Locations.Should().Equal("dn-1", "dn-2", "dn-3");
    }

    [Fact]
    public async Task FinalizedAndRbwOfUnequalLength_FinalizedLengthWinsAndTheRbwIsLeftOut()
    {
        _t.Seed("dn-1", ReplicaState.Finalized, 100);
        _t.Seed("dn-2", ReplicaState.Rbw, 80);
        _t.Seed("dn-3", ReplicaState.Rbw, 120);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(100);
        commit.Locations.Should().Equal("dn-1");
        _t.Replica("dn-2").State.Should().Be(ReplicaState.Rur, "a replica left out stays under this recovery, as in HDFS");
        _t.Replica("dn-3").NumBytes.Should().Be(120, "a replica left out is not truncated");
    }

    [Fact]
    public async Task FinalizedAndRwrOfEqualLength_RwrNeverTakesPart()
    {
        await _t.WriteOkAsync(100);
        await _t.WriteOkAsync(0, stopAfter: 1, finalize: true);
        _t.Cluster.RestartDataNode("dn-2");

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-3");
    }

    [Fact]
    public async Task FinalizedReplicasOfDifferentLengths_AtOneStamp_TheLongestWins_TheOthersAreLeftOut()
    {
        // HDFS fails such a recovery, and so every retry: the file would never close.
        _t.Seed("dn-1", ReplicaState.Finalized, 90);
        _t.Seed("dn-2", ReplicaState.Finalized, 100);
        _t.Seed("dn-3", ReplicaState.Rbw, 100);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, RecoveryId, 100, ["dn-2", "dn-3"], DeleteBlock: false));
        _t.Replica("dn-1").GenerationStamp.Should().Be(TestCluster.BlockGs, "a replica left out is not touched");
    }

    [Fact]
    public async Task FinalizedReplicasOfDifferentLengths_TheHighestStampWins_EvenWhenShorter()
    {
        // dn-1 took the writer's close at 100; a recovery that never committed (its primary died)
        // finalized dn-2 and dn-3 at 60 under its id, while dn-1 was down: that later decision wins.
        _t.Seed("dn-1", ReplicaState.Finalized, 100);
        _t.Seed("dn-2", ReplicaState.Finalized, 60, gs: 1002);
        _t.Seed("dn-3", ReplicaState.Finalized, 60, gs: 1002);

        var result = await _t.RecoverAsync(1003).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, 1003, 60, ["dn-2", "dn-3"], DeleteBlock: false));
    }

    [Fact]
    public async Task RbwAndRwr_OnlyTheRbwReplicasTakePartAtTheirMinimumLength()
    {
        await _t.WriteOkAsync(100, lengths: [100, 60, 80]);
        _t.Cluster.RestartDataNode("dn-2");

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(80, "the RWR replica's 60 bytes do not count");
        commit.Locations.Should().Equal("dn-1", "dn-3");
        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(80));
    }

    [Fact]
    public async Task AllRwr_EveryReplicaTakesPartAtTheMinimumLength()
    {
        await _t.WriteOkAsync(100, lengths: [100, 60, 80]);
        foreach (var dn in _t.All)
        {
            _t.Cluster.RestartDataNode(dn);
        }

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(60);
        commit.Locations.Should().Equal("dn-1", "dn-2", "dn-3");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.NumBytes == 60 && r.State == ReplicaState.Finalized);
        _t.Cluster.ReadReplica("dn-3", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(60));
    }

    [Fact]
    public async Task AllReplicasEmpty_CommitsDeletion()
    {
        await _t.WriteOkAsync(0);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, RecoveryId, 0, [], DeleteBlock: true));
    }

    [Fact]
    public async Task NoDataNodeHasTheBlock_CommitsDeletion()
    {
        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.DeleteBlock.Should().BeTrue();
    }

    [Fact]
    public async Task EmptyReplicaAmongOthers_IsIgnored()
    {
        await _t.WriteOkAsync(50, lengths: [50, 0, 40]);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(40);
        commit.Locations.Should().Equal("dn-1", "dn-3");
    }

    [Fact]
    public async Task ReplicaOlderThanTheBlock_IsLeftOut()
    {
        await _t.WriteOkAsync(100);
        _t.Seed("dn-3", ReplicaState.Rbw, 30, gs: 1000);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(100);
        commit.Locations.Should().Equal("dn-1", "dn-2");
    }

    [Fact]
    public async Task OnlyTemporaryReplicas_FailWithNoReplicaInRecoverableState()
    {
        _t.Seed("dn-1", ReplicaState.Temporary, 100);
        _t.Seed("dn-2", ReplicaState.Temporary, 100);

        var result = await _t.RecoverAsync(RecoveryId).DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.NoReplicaInRecoverableState);
        failed.Message.Should().Contain("Found 2 replica(s)");
    }

    [Fact]
    public async Task PrimaryWithoutAReplica_StillRecoversThePeers()
    {
        await _t.WriteOkAsync(100, pipeline: ["dn-2", "dn-3"]);

        var result = await _t.RecoverAsync(RecoveryId, primary: "dn-1").DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-2", "dn-3");
    }

    [Fact]
    public async Task RestartMidWrite_TheRestartedReplicaBecomesRwrAndTheLiveRbwReplicasWin()
    {
        // The client wrote 100 bytes to all three, then 50 more reached dn-1 and dn-2 before dn-1 restarted.
        await _t.WriteOkAsync(100);
        await _t.WriteOkAsync(50, stopAfter: 2);
        _t.Cluster.RestartDataNode("dn-1");
        _t.Replica("dn-1").Should().Be(new SimulatedReplica("dn-1", TestCluster.BlockId, ReplicaState.Rwr, 150, TestCluster.BlockGs, 0));

        var result = await _t.RecoverAsync(RecoveryId, primary: "dn-2").DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.NewLength.Should().Be(100);
        commit.Locations.Should().Equal("dn-2", "dn-3");
        _t.Replica("dn-2").Should().Be(new SimulatedReplica("dn-2", TestCluster.BlockId, ReplicaState.Finalized, 100, RecoveryId, 0));
    }

    [Fact]
    public async Task LocationNamedTwice_IsAskedOnceAndTheRecoveryCommits()
    {
        await _t.WriteOkAsync(100);

        var result = await _t.RecoverAsync(RecoveryId, locations: ["dn-1", "dn-2", "dn-2", "dn-3"]).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-2", "dn-3");
    }
}
