using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Nodes;
using LeaseService.DataNodes.Internal.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.DataNodes.Tests;

/// <summary>One DataNode's initReplicaRecovery and updateReplicaUnderRecovery (FsDatasetImpl's rules).</summary>
public sealed class ReplicaRecoveryRulesTests
{
    private const long Block = 42;
    private const long Gs = 1001;
    private readonly SimulatedDataNode _node = new("dn-1", NullLogger.Instance);

    [Fact]
    public void InitReplicaRecovery_NoReplica_ReturnsNoReplica()
    {
        _node.InitReplicaRecovery(Block, Gs, 1002).Status.Should().Be(InitReplicaRecoveryStatus.NoReplica);
    }

    [Theory]
    [InlineData(ReplicaState.Finalized)]
    [InlineData(ReplicaState.Rbw)]
    [InlineData(ReplicaState.Rwr)]
    [InlineData(ReplicaState.Temporary)]
    public void InitReplicaRecovery_Replica_BecomesRurKeepingItsOriginalState(ReplicaState state)
    {
        _node.SeedReplica(Block, state, Gs, TestCluster.Bytes(10));

        var reply = _node.InitReplicaRecovery(Block, Gs, 1002);

        reply.Status.Should().Be(InitReplicaRecoveryStatus.Initialized);
        reply.Info.Should().Be(new ReplicaRecoveryInfo(Block, 10, Gs, state));
        _node.PeekReplica(Block).Should().Be(new SimulatedReplica("dn-1", Block, ReplicaState.Rur, 10, Gs, 1002));
    }

    [Fact]
    public void InitReplicaRecovery_ReplicaOlderThanBlock_Fails()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, 1000, TestCluster.Bytes(10));

        var reply = _node.InitReplicaRecovery(Block, Gs, 1002);

        reply.Status.Should().Be(InitReplicaRecoveryStatus.Failed);
        reply.Message.Should().Contain("1000 < block generation stamp 1001");
        _node.PeekReplica(Block)!.State.Should().Be(ReplicaState.Rbw);
    }

    [Theory]
    [InlineData(1002)]
    [InlineData(1003)]
    public void InitReplicaRecovery_ReplicaAtOrAboveRecoveryId_Fails(long replicaGs)
    {
        _node.SeedReplica(Block, ReplicaState.Finalized, replicaGs, TestCluster.Bytes(10));

        var reply = _node.InitReplicaRecovery(Block, Gs, 1002);

        reply.Status.Should().Be(InitReplicaRecoveryStatus.Failed);
        reply.Message.Should().Contain(">= recovery id 1002");
        _node.PeekReplica(Block)!.State.Should().Be(ReplicaState.Finalized);
    }

    [Fact]
    public void InitReplicaRecovery_RurOwnedByOlderRecovery_NewerRecoveryTakesOver()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, 1002).Status.Should().Be(InitReplicaRecoveryStatus.Initialized);

        var reply = _node.InitReplicaRecovery(Block, Gs, 1003);

        reply.Status.Should().Be(InitReplicaRecoveryStatus.Initialized);
        reply.Info!.OriginalState.Should().Be(ReplicaState.Rbw, "the original state survives the take-over");
        _node.PeekReplica(Block)!.RecoveryId.Should().Be(1003);
    }

    [Theory]
    [InlineData(1003)]
    [InlineData(1004)]
    public void InitReplicaRecovery_RurOwnedByEqualOrNewerRecovery_ReportsRecoveryInProgress(long owner)
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, owner);

        var reply = _node.InitReplicaRecovery(Block, Gs, 1003);

        reply.Status.Should().Be(InitReplicaRecoveryStatus.RecoveryInProgress);
        _node.PeekReplica(Block)!.RecoveryId.Should().Be(owner, "the stale recovery must not take the replica back");
    }

    [Fact]
    public void InitReplicaRecovery_StoppedDataNode_IsUnreachable()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.Stop(now: 1);

        var act = () => _node.InitReplicaRecovery(Block, Gs, 1002);

        act.Should().Throw<DataNodeUnreachableException>().Which.DataNodeId.Should().Be("dn-1");
    }

    [Fact]
    public void UpdateReplicaUnderRecovery_MissingReplica_ReportsNotFound()
    {
        _node.UpdateReplicaUnderRecovery(Block, 1002, 5).Status.Should().Be(UpdateReplicaStatus.ReplicaNotFound);
    }

    [Fact]
    public void UpdateReplicaUnderRecovery_ReplicaNotRur_Fails()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));

        var reply = _node.UpdateReplicaUnderRecovery(Block, 1002, 5);

        reply.Status.Should().Be(UpdateReplicaStatus.Failed);
        reply.Message.Should().Contain("not RUR");
        _node.PeekReplica(Block)!.NumBytes.Should().Be(10);
    }

    [Fact]
    public void UpdateReplicaUnderRecovery_SupersededRecoveryId_IsFencedAndTheOwnerSucceeds()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, 1002);
        _node.InitReplicaRecovery(Block, Gs, 1003);

        var stale = _node.UpdateReplicaUnderRecovery(Block, 1002, 4);
        var owner = _node.UpdateReplicaUnderRecovery(Block, 1003, 8);

        stale.Status.Should().Be(UpdateReplicaStatus.Failed);
        stale.Message.Should().Contain("under recovery 1003 != recovery id 1002");
        owner.Status.Should().Be(UpdateReplicaStatus.Finalized);
        _node.PeekReplica(Block).Should().Be(new SimulatedReplica("dn-1", Block, ReplicaState.Finalized, 8, 1003, 0));
    }

    [Fact]
    public void UpdateReplicaUnderRecovery_NewLengthBeyondReplica_Fails()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, 1002);

        var reply = _node.UpdateReplicaUnderRecovery(Block, 1002, 11);

        reply.Status.Should().Be(UpdateReplicaStatus.Failed);
        _node.PeekReplica(Block)!.State.Should().Be(ReplicaState.Rur);
    }

    [Fact]
    public void UpdateReplicaUnderRecovery_ShorterLength_TruncatesTheBytesAndFinalizesAtTheRecoveryId()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, 1002);

        _node.UpdateReplicaUnderRecovery(Block, 1002, 6).Status.Should().Be(UpdateReplicaStatus.Finalized);

        _node.PeekReplicaData(Block).Should().Equal(TestCluster.Bytes(6));
        _node.PeekReplica(Block).Should().Be(new SimulatedReplica("dn-1", Block, ReplicaState.Finalized, 6, 1002, 0));
    }

    [Fact]
    public void InjectedInitFailure_FailsCountTimesWithoutTouchingTheReplica()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InjectFailure(RecoveryStep.InitReplicaRecovery, 2);

        _node.InitReplicaRecovery(Block, Gs, 1002).Status.Should().Be(InitReplicaRecoveryStatus.Failed);
        _node.PeekReplica(Block)!.State.Should().Be(ReplicaState.Rbw);
        _node.InitReplicaRecovery(Block, Gs, 1003).Status.Should().Be(InitReplicaRecoveryStatus.Failed);
        _node.InitReplicaRecovery(Block, Gs, 1004).Status.Should().Be(InitReplicaRecoveryStatus.Initialized);
    }

    [Fact]
    public void InjectedUpdateFailure_LeavesTheReplicaUnderRecovery()
    {
        _node.SeedReplica(Block, ReplicaState.Rbw, Gs, TestCluster.Bytes(10));
        _node.InitReplicaRecovery(Block, Gs, 1002);
        _node.InjectFailure(RecoveryStep.UpdateReplica, 1);

        _node.UpdateReplicaUnderRecovery(Block, 1002, 10).Status.Should().Be(UpdateReplicaStatus.Failed);
        _node.PeekReplica(Block)!.State.Should().Be(ReplicaState.Rur);
        _node.UpdateReplicaUnderRecovery(Block, 1002, 10).Status.Should().Be(UpdateReplicaStatus.Finalized);
    }
}
