using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// DataNodes that accept a call and never answer. Every wait is bounded on the injected clock, so
/// these tests advance a fake clock instead of waiting.
/// </summary>
public sealed class TimeoutTests
{
    private readonly TestCluster _t = new();

    [Fact]
    public async Task HungPrimary_TimesOutAfterTheRecoveryTimeoutOnTheFakeClock()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-1");
        var recovery = _t.RecoverAsync(1002, primary: "dn-1");
        await arrived.DefaultTimeout();

        _t.Time.Advance(_t.Options.RecoveryTimeout - TimeSpan.FromSeconds(1));
        recovery.IsCompleted.Should().BeFalse("the timeout has not passed yet");
        _t.Time.Advance(TimeSpan.FromSeconds(1));

        var failed = (await recovery.DefaultTimeout()).Should().BeOfType<BlockRecoveryFailed>().Subject;
        failed.Reason.Should().Be(BlockRecoveryFailure.TimedOut);
        failed.FailedDataNodes.Should().Equal("dn-1");
        _t.Cluster.ReleaseDataNode("dn-1");
    }

    [Fact]
    public async Task HungPeer_CountsAsFailedAfterTheCallTimeoutAndTheOthersCommit()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-3");
        var recovery = _t.RecoverAsync(1002, primary: "dn-1");
        await arrived.DefaultTimeout();

        _t.Time.Advance(_t.Options.CallTimeout);

        (await recovery.DefaultTimeout()).Should().BeOfType<BlockRecoveryCommitted>().Which.Locations.Should().Equal("dn-1", "dn-2");
        _t.Cluster.ReleaseDataNode("dn-3");
    }

    [Fact]
    public async Task HungDataNodeInGetReplicas_IsLeftOutAfterTheCallTimeout()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-2");
        var query = _t.Cluster.GetReplicasAsync(TestCluster.BlockId, _t.All, CancellationToken.None).AsTask();
        await arrived.DefaultTimeout();

        _t.Time.Advance(_t.Options.CallTimeout);

        (await query.DefaultTimeout()).Select(r => r.DataNodeId).Should().Equal("dn-1", "dn-3");
        _t.Cluster.ReleaseDataNode("dn-2");
    }

    [Fact]
    public async Task HungDataNodeInAWritePipeline_FailsTheWriteAfterTheCallTimeout()
    {
        var arrived = _t.Cluster.HangDataNode("dn-2");
        var write = _t.Cluster.WriteAsync(new PipelineWrite(_t.All, TestCluster.BlockId, TestCluster.BlockGs, TestCluster.Bytes(10)));
        await arrived.DefaultTimeout();

        _t.Time.Advance(_t.Options.CallTimeout);

        var result = await write.DefaultTimeout();
        result.Status.Should().Be(SimulatedWriteStatus.DataNodeUnavailable);
        result.Message.Should().Contain("did not answer");
        result.FailedDataNodeId.Should().Be("dn-2");
        result.Replicas.Should().BeEmpty();
        _t.Cluster.ReleaseDataNode("dn-2");
    }

    [Fact]
    public async Task ReleasedAfterTimingOut_TheAbandonedCallDoesNotRun()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-1");
        var recovery = _t.RecoverAsync(1002, primary: "dn-1");
        await arrived.DefaultTimeout();
        _t.Time.Advance(_t.Options.RecoveryTimeout);
        (await recovery.DefaultTimeout()).Should().BeOfType<BlockRecoveryFailed>();

        _t.Cluster.ReleaseDataNode("dn-1");
        var retry = await _t.RecoverAsync(1003, primary: "dn-2").DefaultTimeout();

        retry.Should().BeOfType<BlockRecoveryCommitted>().Which.RecoveryId.Should().Be(1003);
        _t.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.GenerationStamp == 1003);
    }

    [Fact]
    public async Task CallerCancels_RecoverBlockThrowsOperationCanceled()
    {
        await _t.WriteOkAsync(100);
        var arrived = _t.Cluster.HangDataNode("dn-1");
        using var cancellation = new CancellationTokenSource();
        var recovery = _t.Cluster.RecoverBlockAsync(TestCluster.Command(1002, "dn-1", _t.All), cancellation.Token).AsTask();
        await arrived.DefaultTimeout();

        await cancellation.CancelAsync();

        await FluentActions.Awaiting(() => recovery.DefaultTimeout()).Should().ThrowAsync<OperationCanceledException>();
        _t.Cluster.ReleaseDataNode("dn-1");
    }
}
