using LeaseService.Core.DataNodes;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.DataNodes.Tests;

/// <summary>The simulator's control surface: construction, listings, clear errors for bad input.</summary>
public sealed class SimulatorControlTests
{
    private readonly TestCluster _t = new();

    [Fact]
    public async Task PauseDataNode_CallsWaitUntilResumed()
    {
        await _t.WriteOkAsync(10, finalize: true);

        _t.Cluster.PauseDataNode("dn-2").Paused.Should().BeTrue();
        var pending = _t.Cluster.GetReplicasAsync(TestCluster.BlockId, ["dn-2"], CancellationToken.None).AsTask();

        pending.IsCompleted.Should().BeFalse("a paused DataNode answers nothing");
        _t.Cluster.ListDataNodes().Single(n => n.DataNodeId == "dn-2").Should().Be(new SimulatedDataNodeInfo("dn-2", true, 1, Paused: true));
        _t.Cluster.ResumeDataNode("dn-2").Paused.Should().BeFalse();
        (await pending.DefaultTimeout()).Should().ContainSingle().Which.NumBytes.Should().Be(10);
    }

    [Fact]
    public void NewCluster_HasDataNodesNamedDn1ToDnNAllRunningAndEmpty()
    {
        var cluster = new TestCluster(dataNodes: 5).Cluster;

        cluster.DataNodeIds.Should().Equal("dn-1", "dn-2", "dn-3", "dn-4", "dn-5");
        cluster.ListDataNodes().Should().OnlyContain(n => n.Running && n.ReplicaCount == 0);
    }

    [Fact]
    public void DefaultOptions_AreThreeDataNodesTenSecondCallsSixtySecondRecoveries()
    {
        var options = new SimulatedDataNodeClusterOptions();

        options.DataNodeCount.Should().Be(3);
        options.CallTimeout.Should().Be(TimeSpan.FromSeconds(10));
        options.RecoveryTimeout.Should().Be(TimeSpan.FromSeconds(60));
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    public static TheoryData<SimulatedDataNodeClusterOptions> InvalidOptions => new()
    {
        new SimulatedDataNodeClusterOptions { DataNodeCount = 0 },
        new SimulatedDataNodeClusterOptions { DataNodeCount = SimulatedDataNodeClusterOptions.MaxDataNodeCount + 1 },
        new SimulatedDataNodeClusterOptions { CallTimeout = TimeSpan.Zero },
        new SimulatedDataNodeClusterOptions { RecoveryTimeout = TimeSpan.FromSeconds(-1) },
        new SimulatedDataNodeClusterOptions { CallTimeout = TimeSpan.FromSeconds(30), RecoveryTimeout = TimeSpan.FromSeconds(20) },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Constructor_InvalidOptions_ThrowsArgumentException(SimulatedDataNodeClusterOptions options)
    {
        var act = () => new SimulatedDataNodeCluster(options, TimeProvider.System, NullLogger<SimulatedDataNodeCluster>.Instance);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ControlCalls_UnknownDataNode_ThrowDataNodeNotFound()
    {
        _t.Cluster.Invoking(c => c.StopDataNode("dn-9")).Should().Throw<DataNodeNotFoundException>().WithMessage("*dn-9*");
        _t.Cluster.Invoking(c => c.RestartDataNode("dn-9")).Should().Throw<DataNodeNotFoundException>();
        _t.Cluster.Invoking(c => c.InjectFailure("dn-9", RecoveryStep.UpdateReplica)).Should().Throw<DataNodeNotFoundException>();
        _t.Cluster.Invoking(c => c.ReadReplica("dn-9", 1)).Should().Throw<DataNodeNotFoundException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void InjectFailure_CountNotPositive_ThrowsArgumentOutOfRange(int count)
    {
        _t.Cluster.Invoking(c => c.InjectFailure("dn-1", RecoveryStep.InitReplicaRecovery, count))
            .Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void InjectFailure_CountsAddUpToAtMostIntMax_FailingForEver()
    {
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.UpdateReplica, int.MaxValue);

        _t.Cluster.Invoking(c => c.InjectFailure("dn-1", RecoveryStep.UpdateReplica, 1)).Should().NotThrow();
    }

    [Fact]
    public void ControlCalls_UnknownDataNode_WithAHugeId_EchoItShort()
    {
        var act = () => _t.Cluster.StopDataNode(new string('x', 1_000_000));

        act.Should().Throw<DataNodeNotFoundException>().Which.Message.Length.Should().BeLessThan(200, "a status message must fit a client's header limit");
    }

    [Fact]
    public void InjectFailure_UnknownStep_ThrowsArgumentOutOfRange()
    {
        _t.Cluster.Invoking(c => c.InjectFailure("dn-1", (RecoveryStep)0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task InjectFailure_CountsAddUp()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.InitReplicaRecovery);
        _t.Cluster.InjectFailure("dn-1", RecoveryStep.InitReplicaRecovery);

        var first = await _t.RecoverAsync(1002, locations: ["dn-1"]).DefaultTimeout();
        var second = await _t.RecoverAsync(1003, locations: ["dn-1"]).DefaultTimeout();
        var third = await _t.RecoverAsync(1004, locations: ["dn-1"]).DefaultTimeout();

        first.Should().BeOfType<BlockRecoveryFailed>();
        second.Should().BeOfType<BlockRecoveryFailed>();
        third.Should().BeOfType<BlockRecoveryCommitted>();
    }

    [Fact]
    public async Task ListReplicas_IncludesReplicasOnStoppedDataNodes()
    {
        await _t.WriteOkAsync(100);
        _t.Cluster.StopDataNode("dn-3");

        _t.Cluster.ListReplicas(TestCluster.BlockId).Select(r => r.DataNodeId).Should().Equal("dn-1", "dn-2", "dn-3");
        _t.Cluster.ListDataNodes().Should().Equal(
            new SimulatedDataNodeInfo("dn-1", true, 1),
            new SimulatedDataNodeInfo("dn-2", true, 1),
            new SimulatedDataNodeInfo("dn-3", false, 1));
    }

    [Fact]
    public void ListReplicas_UnknownBlock_IsEmpty()
    {
        _t.Cluster.ListReplicas(99).Should().BeEmpty();
        _t.Cluster.ReadReplica("dn-1", 99).Should().BeNull();
    }

    [Fact]
    public async Task ReadReplica_ReturnsACopy()
    {
        await _t.WriteOkAsync(4);

        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId)![0] = 99;

        _t.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(4));
    }
}
