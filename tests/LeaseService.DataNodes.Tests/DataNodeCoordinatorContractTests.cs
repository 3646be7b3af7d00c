using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// What every <see cref="IDataNodeCoordinator"/> must do, whatever the DataNodes behind it are.
/// The simulated cluster subclasses it; a remote fleet's coordinator would subclass it too,
/// providing the few ways to arrange state the tests need.
/// </summary>
public abstract class DataNodeCoordinatorContractTests
{
    protected const long Block = 1073741900;
    protected const long Gs = 2001;

    /// <summary>The coordinator under test, with at least three running, empty DataNodes.</summary>
    protected abstract IDataNodeCoordinator Coordinator { get; }

    /// <summary>Writes <paramref name="data"/> to <paramref name="pipeline"/> as a client would; must succeed.</summary>
    protected abstract Task WriteAsync(IReadOnlyList<string> pipeline, long blockId, long generationStamp, byte[] data);

    /// <summary>Makes a DataNode unreachable.</summary>
    protected abstract Task StopDataNodeAsync(string dataNodeId);

    private IReadOnlyList<string> Three => Coordinator.GetDataNodes().Take(3).Select(d => d.Id).ToArray();

    [Fact]
    public void GetDataNodes_ListsEveryDataNodeAliveWithDistinctIds()
    {
        var nodes = Coordinator.GetDataNodes();

        nodes.Should().HaveCountGreaterThanOrEqualTo(3);
        nodes.Should().OnlyContain(n => n.IsAlive);
        nodes.Select(n => n.Id).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task GetDataNodes_StoppedDataNode_IsNotAlive()
    {
        var victim = Three[1];

        await StopDataNodeAsync(victim);

        Coordinator.GetDataNodes().Single(n => n.Id == victim).IsAlive.Should().BeFalse();
    }

    [Fact]
    public async Task GetReplicas_ReportsEveryLocationHoldingTheBlock()
    {
        await WriteAsync(Three, Block, Gs, new byte[64]);

        var replicas = await Coordinator.GetReplicasAsync(Block, Three, CancellationToken.None).DefaultTimeout();

        replicas.Should().BeEquivalentTo(Three.Select(dn => new ReplicaReport(dn, Block, ReplicaState.Rbw, 64, Gs)));
    }

    [Fact]
    public async Task GetReplicas_LeavesOutAbsentUnknownAndUnreachableLocations()
    {
        var dns = Three;
        await WriteAsync([dns[0], dns[1]], Block, Gs, new byte[64]);
        await StopDataNodeAsync(dns[1]);

        var replicas = await Coordinator.GetReplicasAsync(Block, [dns[0], dns[1], dns[2], "no-such-datanode"], CancellationToken.None).DefaultTimeout();

        replicas.Select(r => r.DataNodeId).Should().Equal(dns[0]);
    }

    [Fact]
    public async Task RecoverBlock_HealthyReplicas_CommitsTheLengthAtTheRecoveryIdAndReplicasReportIt()
    {
        await WriteAsync(Three, Block, Gs, new byte[64]);

        var result = await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, Three[0], Three), CancellationToken.None).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(Block, Gs + 1, 64, Three, DeleteBlock: false));
        var replicas = await Coordinator.GetReplicasAsync(Block, Three, CancellationToken.None).DefaultTimeout();
        replicas.Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.GenerationStamp == Gs + 1 && r.NumBytes == 64);
    }

    [Fact]
    public async Task RecoverBlock_NoReplicas_CommitsDeletion()
    {
        var result = await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, Three[0], Three), CancellationToken.None).DefaultTimeout();

        result.Should().BeEquivalentTo(new BlockRecoveryCommitted(Block, Gs + 1, 0, [], DeleteBlock: true));
    }

    [Fact]
    public async Task RecoverBlock_UnreachablePrimary_ReturnsPrimaryUnavailableWithoutThrowing()
    {
        await WriteAsync(Three, Block, Gs, new byte[64]);
        await StopDataNodeAsync(Three[0]);

        var result = await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, Three[0], Three), CancellationToken.None).DefaultTimeout();

        var failed = result.Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
        failed.BlockId.Should().Be(Block);
        failed.RecoveryId.Should().Be(Gs + 1);
    }

    [Fact]
    public async Task RecoverBlock_UnknownPrimary_ReturnsPrimaryUnavailable()
    {
        var result = await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, "no-such-datanode", Three), CancellationToken.None).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryFailed>().Which.Reason.Should().Be(BlockRecoveryFailure.PrimaryUnavailable);
    }

    [Fact]
    public async Task RecoverBlock_RetryWithANewerRecoveryIdAfterACommit_RecoversAgainAtTheNewerId()
    {
        await WriteAsync(Three, Block, Gs, new byte[64]);
        await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, Three[0], Three), CancellationToken.None).DefaultTimeout();

        var result = await Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 2, Three[1], Three), CancellationToken.None).DefaultTimeout();

        result.Should().BeOfType<BlockRecoveryCommitted>().Which.RecoveryId.Should().Be(Gs + 2);
    }

    [Fact]
    public async Task RecoverBlock_CancelledBeforeItStarts_ThrowsOperationCanceled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var act = () => Coordinator.RecoverBlockAsync(new BlockRecoveryCommand(Block, Gs, Gs + 1, Three[0], Three), cancelled.Token).AsTask();

        await act.Should().ThrowAsync<OperationCanceledException>();
    }
}

/// <summary>The coordinator contract, run against the embedded simulated cluster.</summary>
public sealed class SimulatedDataNodeClusterContractTests : DataNodeCoordinatorContractTests
{
    private readonly TestCluster _t = new();

    protected override IDataNodeCoordinator Coordinator => _t.Cluster;

    protected override async Task WriteAsync(IReadOnlyList<string> pipeline, long blockId, long generationStamp, byte[] data)
    {
        var result = await _t.Cluster.WriteAsync(new PipelineWrite(pipeline, blockId, generationStamp, data)).DefaultTimeout();
        result.Status.Should().Be(SimulatedWriteStatus.Written, result.Message);
    }

    protected override Task StopDataNodeAsync(string dataNodeId)
    {
        _t.Cluster.StopDataNode(dataNodeId);
        return Task.CompletedTask;
    }
}
