using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>Stopping and restarting a DataNode: what its replicas become and how it answers.</summary>
public sealed class DataNodeRestartTests
{
    private readonly TestCluster _t = new();

    [Fact]
    public async Task Restart_RbwReplica_ComesBackAsRwrWithItsBytes()
    {
        await _t.WriteOkAsync(100);

        _t.Cluster.RestartDataNode("dn-2").Running.Should().BeTrue();

        _t.Replica("dn-2").Should().Be(new SimulatedReplica("dn-2", TestCluster.BlockId, ReplicaState.Rwr, 100, TestCluster.BlockGs, 0));
        _t.Cluster.ReadReplica("dn-2", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(100));
        _t.Replica("dn-1").State.Should().Be(ReplicaState.Rbw, "only the restarted DataNode reloads");
    }

    [Fact]
    public async Task Restart_FinalizedReplica_IsUnchanged()
    {
        await _t.WriteOkAsync(100, finalize: true);

        _t.Cluster.RestartDataNode("dn-1");

        _t.Replica("dn-1").State.Should().Be(ReplicaState.Finalized);
    }

    [Fact]
    public void Restart_TemporaryReplica_IsDeleted()
    {
        _t.Seed("dn-1", ReplicaState.Temporary, 10);

        _t.Cluster.RestartDataNode("dn-1").ReplicaCount.Should().Be(0);

        _t.ReplicaOrNull("dn-1").Should().BeNull();
    }

    [Theory]
    [InlineData(ReplicaState.Rbw, ReplicaState.Rwr)]
    [InlineData(ReplicaState.Rwr, ReplicaState.Rwr)]
    [InlineData(ReplicaState.Finalized, ReplicaState.Finalized)]
    public void Restart_ReplicaUnderRecovery_ForgetsTheRecoveryAndLoadsItsOriginalState(ReplicaState original, ReplicaState loaded)
    {
        _t.Seed("dn-1", ReplicaState.Rur, 10, recoveryId: 1002, originalState: original);

        _t.Cluster.RestartDataNode("dn-1");

        _t.Replica("dn-1").Should().Be(new SimulatedReplica("dn-1", TestCluster.BlockId, loaded, 10, TestCluster.BlockGs, 0));
    }

    [Fact]
    public async Task Stop_DataNode_RefusesCallsAndStopsHeartbeating()
    {
        var before = _t.Time.GetTimestamp();
        _t.Cluster.StopDataNode("dn-2").Running.Should().BeFalse();
        _t.Time.Advance(TimeSpan.FromMinutes(5));

        var statuses = _t.Cluster.GetDataNodes();
        statuses.Should().Equal(
            new DataNodeStatus("dn-1", true, _t.Time.GetTimestamp()),
            new DataNodeStatus("dn-2", false, before),
            new DataNodeStatus("dn-3", true, _t.Time.GetTimestamp()));

        var write = await _t.WriteAsync(10);
        write.Status.Should().Be(SimulatedWriteStatus.DataNodeUnavailable);
        write.FailedDataNodeId.Should().Be("dn-2");
    }

    [Fact]
    public void Stop_AlreadyStopped_KeepsTheFirstStopsHeartbeat()
    {
        var first = _t.Time.GetTimestamp();
        _t.Cluster.StopDataNode("dn-1");
        _t.Time.Advance(TimeSpan.FromSeconds(30));

        _t.Cluster.StopDataNode("dn-1");

        _t.Cluster.GetDataNodes()[0].LastHeartbeat.Should().Be(first);
    }

    [Fact]
    public async Task Restart_StoppedDataNode_RunsAgainAndHeartbeatsNow()
    {
        await _t.WriteOkAsync(10);
        _t.Cluster.StopDataNode("dn-1");
        _t.Time.Advance(TimeSpan.FromSeconds(30));

        _t.Cluster.RestartDataNode("dn-1");

        _t.Cluster.GetDataNodes()[0].Should().Be(new DataNodeStatus("dn-1", true, _t.Time.GetTimestamp()));
        _t.Replica("dn-1").State.Should().Be(ReplicaState.Rwr);
        _t.Cluster.ListDataNodes()[0].Should().Be(new SimulatedDataNodeInfo("dn-1", true, 1));
    }
}
