using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>Block recovery when DataNodes fail, die, or a newer recovery owns the replicas.</summary>
public sealed class RecoveryFailureTests
{
    private readonly TestCluster _t = new();

    [Fact]
    public async Task EveryDataNodeFailsInit_FailsWithAllDataNodesFailed()
    {
        await _t.WriteOkAsync(100);
        foreach (var dn in _t.All)
        {
            _t.Cluster.InjectFailure(dn, RecoveryStep.InitReplicaRecovery);
        }

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.AllDataNodesFailed);
        failed.Message.Should().StartWith("All datanodes failed");
        failed.FailedDataNodes.Should().Equal("dn-1", "dn-2", "dn-3");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Rbw);
    }

    [Fact]
    public async Task EveryPeerStoppedAndPrimaryFailsInit_FailsWithAllDataNodesFailed()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.StopDataNode("dn-2");
        _t.Cluster.StopDataNode("dn-3");
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.InitReplicaRecovery);

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.AllDataNodesFailed);
    }

    [Fact]
    public async Task PrimaryHasNoReplicaAndPeersWithDataUnreachable_FailsInsteadOfDeleting()
    {
        // dn-2 and dn-3 hold the data; the primary dn-1 never received any. HDFS would commit a
        // delete here (empty sync list); we must not throw away what dn-2/dn-3 may hold.
        await _t.WriteOkAsync(100, pipeline: ["dn-2", "dn-3"]);
        _t.Cluster.StopDataNode("dn-2");
        _t.Cluster.StopDataNode("dn-3");

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.ReplicasUnreachable);
        failed.FailedDataNodes.Should().Equal("dn-2", "dn-3");
        _t.Cluster.RestartDataNode("dn-2");
        _t.Cluster.RestartDataNode("dn-3");
        var retry = await _t.RecoverAsync(1003).DefaultTimeout();
        retry.Should().BeOfType<BlockRecoveryCommitted>().Which.NewLength.Should().Be(100);
    }

    [Fact]
    public async Task OneDataNodeFailsInit_RecoveryCommitsWithoutIt()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.InjectFailure("dn-3", RecoveryStep.InitReplicaRecovery);

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-2");
        _t.Replica("dn-3").State.Should().Be(ReplicaState.Rbw);
    }

    [Fact]
    public async Task OneParticipantFailsUpdate_IsDroppedAndTheRestCommit()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.InjectFailure("dn-2", RecoveryStep.UpdateReplica);

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        var commit = result.Should().BeOfType<BlockRecoveryCommitted>().Subject;
        commit.Locations.Should().Equal("dn-1", "dn-3");
        _t.Replica("dn-2").Should().Be(new SimulatedReplica("dn-2", TestCluster.BlockId, ReplicaState.Rur, 100, TestCluster.BlockGs, 1002));
    }

    [Fact]
    public async Task EveryParticipantFailsUpdate_FailsAndTheRetryWithANewRecoveryIdCommits()
    {
        await _t.WriteOkAsync(100);
        foreach (var dn in _t.All)
        {
            _t.Cluster.InjectFailure(dn, RecoveryStep.UpdateReplica);
        }

        var first = await _t.RecoverAsync(1002).DefaultTimeout();
        var retry = await _t.RecoverAsync(1003, primary: "dn-2").DefaultTimeout();

        var failed = first.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.AllParticipantsFailed);
        failed.Message.Should().StartWith("Cannot recover");
        failed.FailedDataNodes.Should().Equal("dn-1", "dn-2", "dn-3");
        retry.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, 1003, 100, ["dn-1", "dn-2", "dn-3"], DeleteBlock: false));
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.GenerationStamp == 1003 && r.State == ReplicaState.Finalized);
    }

    [Fact]
    public async Task StaleRecoveryId_ANewerRecoveryOwnsAReplica_AbortsWithoutTouchingIt()
    {
        await _t.WriteOkAsync(100);
        _t.Seed("dn-2", ReplicaState.Rur, 100, recoveryId: 1005, originalState: ReplicaState.Rbw);

        var result = await _t.RecoverAsync(1004).DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.SupersededByNewerRecovery);
        failed.FailedDataNodes.Should().Equal("dn-2");
        _t.Replica("dn-2").RecoveryId.Should().Be(1005);
        _t.Replica("dn-3").State.Should().Be(ReplicaState.Rbw, "the task aborts at once, before later locations");
    }

    [Fact]
    public async Task OlderRecoveryArrivesWhileANewerOneIsRunning_OlderAbortsAndNewerCommits()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-3");
        var newer = _t.RecoverAsync(1003, primary: "dn-1");
        await arrived.DefaultTimeout(); // dn-1 and dn-2 are RUR under 1003 now.

        var older = await _t.RecoverAsync(1002, primary: "dn-2").DefaultTimeout();
        _t.Cluster.ReleaseDataNode("dn-3");

        older.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.SupersededByNewerRecovery);
        (await newer.DefaultTimeout()).Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-2", "dn-3");
    }

    [Fact]
    public async Task NewerRecoveryAfterAFailedOne_TakesTheReplicasOver()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.UpdateReplica);
        _t.Cluster.InjectFailure("dn-2", RecoveryStep.UpdateReplica);
        _t.Cluster.InjectFailure("dn-3", RecoveryStep.UpdateReplica);
        (await _t.RecoverAsync(1002).DefaultTimeout()).Should().BeOfType<BlockRecoveryFailed>();
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Rur && r.RecoveryId == 1002);

        var retry = await _t.RecoverAsync(1003, primary: "dn-3").DefaultTimeout();

        retry.Should().BeOfType<BlockRecoveryCommitted>().Which.NewLength.Should().Be(100, "the original RBW state survives the take-over");
    }

    [Fact]
    public async Task SameCommandRepeatedAfterItCommitted_DoesNotCommitAgain()
    {
        await _t.WriteOkAsync(100);
        (await _t.RecoverAsync(1002).DefaultTimeout()).Should().BeOfType<BlockRecoveryCommitted>();

        var again = await _t.RecoverAsync(1002).DefaultTimeout();

        again.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.AllDataNodesFailed);
    }

    [Fact]
    public async Task PrimaryDiesBeforeCommitting_ReportsPrimaryUnavailableAndARetryOnAnotherPrimaryCommits()
    {
        await _t.WriteOkAsync(100, lengths: [100, 90, 100]);
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.PrimaryCommit);

        var first = await _t.RecoverAsync(1002, primary: "dn-1").DefaultTimeout();

        var failed = first.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
        failed.FailedDataNodes.Should().Equal("dn-1");
        _t.Cluster.ListDataNodes()[0].Running.Should().BeFalse("the primary died");
        _t.Replica("dn-2").Should().Be(new SimulatedReplica("dn-2", TestCluster.BlockId, ReplicaState.Finalized, 90, 1002, 0), "the work was done, only the commit was lost");

        // The NameNode never heard of 1002: it retries from the old generation stamp with a new id and primary.
        var retry = await _t.RecoverAsync(1003, primary: "dn-2").DefaultTimeout();

        retry.Should().BeEquivalentTo(new BlockRecoveryCommitted(TestCluster.BlockId, 1003, 90, ["dn-2", "dn-3"], DeleteBlock: false));
    }

    [Fact]
    public async Task PrimaryCommitFailureInjected_ButTheRecoveryFailsAnyway_ThePrimarySurvives()
    {
        _t.Seed("dn-1", ReplicaState.Rbw, 0); // No data here, and the other replicas cannot be asked.
        _t.Cluster.StopDataNode("dn-2");
        _t.Cluster.StopDataNode("dn-3");
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.PrimaryCommit);

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.ReplicasUnreachable);
        _t.Cluster.ListDataNodes()[0].Running.Should().BeTrue("there was no commit step to die in");
    }

    [Fact]
    public async Task PrimaryStoppedMidRecovery_ReportsPrimaryUnavailable()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-3");
        var recovery = _t.RecoverAsync(1002, primary: "dn-1");
        await arrived.DefaultTimeout();

        _t.Cluster.StopDataNode("dn-1");
        _t.Cluster.ReleaseDataNode("dn-3");

        (await recovery.DefaultTimeout()).Should().BeOfType<BlockRecoveryFailed>()
            .Which.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
    }

    [Fact]
    public async Task StoppedPrimary_ReportsPrimaryUnavailableAtOnceAndTouchesNothing()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.StopDataNode("dn-1");

        var result = await _t.RecoverAsync(1002, primary: "dn-1").DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
        failed.Message.Should().Contain("dn-1");
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Rbw);
    }

    [Fact]
    public async Task UnknownPrimary_ReportsPrimaryUnavailable()
    {
        var result = await _t.RecoverAsync(1002, primary: "dn-42").DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
    }

    [Fact]
    public async Task StoppedPeer_CountsAsFailedAndTheOthersCommit()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.StopDataNode("dn-2");

        var result = await _t.RecoverAsync(1002).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-3");
    }
}
