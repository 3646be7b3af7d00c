using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>Recovery retries: the next primary, stale answers ignored, and nothing retried forever.</summary>
public sealed class RecoveryLivenessTests
{
    private readonly RecoveryFixture _f = new();

    [Fact]
    public async Task Retry_UsesTheNextPrimary()
    {
        await _f.OpenWithUnrecoverableBlockAsync("w", "/a", 10);

        await _f.RecoverAsync("/a", null);
        await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));

        var primaries = _f.Coordinator.Commands.Select(c => c.PrimaryDataNodeId).ToList();
        primaries.Should().HaveCount(2).And.OnlyHaveUniqueItems("a retry rotates the primary over live replicas");
        _f.Coordinator.Commands[1].RecoveryId.Should().BeGreaterThan(_f.Coordinator.Commands[0].RecoveryId);
        _f.File("/a").UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task EmptyBlockWithAPermanentlyDeadDataNode_IsDroppedAfterTheGraceAttempts()
    {
        _f.Open("w", "/a");
        var first = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(first, 20, finalize: true);
        var block = await _f.AddBlockAsync("w", "/a");
        _f.Cluster.StopDataNode(block.Block.Locations[1]); // Never comes back; the block got no data.

        await _f.RecoverAsync("/a", null);
        for (var i = 0; i < 3 && _f.File("/a").UnderConstruction; i++)
        {
            _f.File("/a").Blocks.Should().HaveCount(2, "within the grace attempts the dead replica is waited for");
            await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        }

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(20);
        file.Blocks.Should().ContainSingle().Which.BlockId.Should().Be(first.Block.BlockId);
    }

    [Fact]
    public async Task DataWithOneDeadDataNodeThatHadNothing_RecoversFromTheLiveReplicas()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 30, replicaLengths: [30, 30, 0], stopAfter: 2);
        _f.Cluster.StopDataNode(block.Block.Locations[2]); // Had nothing; never comes back.

        await _f.RecoverAsync("/a", null);
        var passes = 0;
        while (_f.File("/a").UnderConstruction && passes++ < 5)
        {
            await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        }

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(30);
        file.Blocks.Single().Locations.Should().BeEquivalentTo(block.Block.Locations.Take(2));
    }

    [Fact]
    public async Task AllReplicaDataNodesDead_DropsTheBlockOnlyAfterTheGraceAttempts()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 30);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.StopDataNode(dn);
        }

        await _f.RecoverAsync("/a", null);
        for (var i = 1; i < 3; i++)
        {
            await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
            _f.File("/a").UnderConstruction.Should().BeTrue($"attempt {i + 1} still waits for the replicas to come back");
        }

        _f.Coordinator.Commands.Should().BeEmpty("no primary was alive to ask");
        await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        _f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 0L });
    }

    [Fact]
    public async Task StorageRestoresInARow_DoNotSpendTheGrace_DataOnDataNodesDownMeanwhileSurvives()
    {
        var (f, block) = await RecoveryAcrossStorageBlipsAsync();

        f.File("/a").Blocks.Should().ContainSingle("3 s after recovery began, no attempt has run its course: the replicas may be back any moment");
        foreach (var dn in block.Block.Locations)
        {
            f.Cluster.RestartDataNode(dn);
        }

        await f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 30L });
    }

    [Fact]
    public async Task StorageRestoresInARow_ThenTheDataNodesStayDown_DroppedAfterTheGraceAttemptsRanTheirCourse()
    {
        var (f, _) = await RecoveryAcrossStorageBlipsAsync();

        for (var i = 1; i < 3; i++)
        {
            await f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
            f.File("/a").UnderConstruction.Should().BeTrue($"attempt {i + 1} still waits for the replicas to come back");
        }

        await f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 0L }, "bounded: three attempts ran their course");
    }

    /// <summary>
    /// /a's 30 bytes on three DataNodes that all stop; RecoverLease starts the recovery; then three
    /// storage blips a second apart, each restore resuming the recovery (as a restart or an activation does).
    /// </summary>
    private static async Task<(RecoveryFixture Fixture, AddBlockResult Block)> RecoveryAcrossStorageBlipsAsync()
    {
        var store = new Storage.ControllableStore();
        var f = new RecoveryFixture(store: store);
        f.Open("w", "/a");
        var block = await f.AddBlockAsync("w", "/a");
        await f.WriteAsync(block, 30);
        foreach (var dn in block.Block.Locations)
        {
            f.Cluster.StopDataNode(dn);
        }

        (await f.RecoverAsync("/a", null)).Closed.Should().BeFalse();
        for (var i = 0; i < 3; i++)
        {
            f.Time.Advance(TimeSpan.FromSeconds(1));
            store.FailWith = "I/O error";
            (await f.Manager.AddLeaseAsync("other", $"/x{i}", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
            store.FailWith = null;
            (await f.Manager.TryRestoreStorageAsync()).Should().BeTrue();
            await f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        }

        return (f, block);
    }

    [Fact]
    public async Task DeadDataNodeBack_WithinGrace_ItsDataIsRecovered()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 30);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.StopDataNode(dn);
        }

        await _f.RecoverAsync("/a", null);
        _f.Cluster.RestartDataNode(block.Block.Locations[0]); // RBW comes back as RWR.
        await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));

        _f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 30L });
    }

    [Fact]
    public async Task ResultOfASupersededAttempt_ArrivingLate_IsIgnored()
    {
        // DataNodes that never answer: the test delivers each attempt's answer itself, late.
        var f = new LeaseManagerFixture(TestDataNodes.Live("dn-1", "dn-2", "dn-3"), new LeaseManagerOptions { SoftLimit = RecoveryFixture.Soft, HardLimit = RecoveryFixture.Hard });
        f.Add("w", "/a");
        var block = (await f.Manager.AddBlockAsync("w", "/a")).Value!.Block;
        f.Manager.RecoverLease("/a", null, force: true);
        var first = f.Manager.GetLease("/a").Value!.RecoveryId;
        f.Time.Advance(new LeaseManagerOptions().RecoveryTimeout + TimeSpan.FromSeconds(1));
        f.Pass().RecoveriesRetried.Should().Be(1);
        var second = f.Manager.GetLease("/a").Value!.RecoveryId;
        second.Should().BeGreaterThan(first);

        f.Manager.ApplyRecoveryResult(new BlockRecoveryCommitted(block.BlockId, first, 999, ["dn-1"], DeleteBlock: false), "/a");
        f.Manager.GetFile("/a").Value!.UnderConstruction.Should().BeTrue("the first attempt was superseded");

        f.Manager.ApplyRecoveryResult(new BlockRecoveryCommitted(block.BlockId, second, 10, ["dn-1"], DeleteBlock: false), "/a");
        f.Manager.GetFile("/a").Value!.Should().BeEquivalentTo(new { UnderConstruction = false, Length = 10L });

        f.Manager.ApplyRecoveryResult(new BlockRecoveryCommitted(block.BlockId, second, 5, ["dn-2"], DeleteBlock: true), "/a");
        f.Manager.GetFile("/a").Value!.Should().BeEquivalentTo(new { UnderConstruction = false, Length = 10L }, "a duplicate commit after close changes nothing");
    }

    [Fact]
    public async Task RecoverLease_OnceTheAttemptOutlivedTheRecoveryTimeout_StartsANewOneWithANewIdAndTheNextPrimary()
    {
        await _f.OpenWithUnrecoverableBlockAsync("w", "/a", 10);

        (await _f.RecoverAsync("/a")).Closed.Should().BeFalse();
        _f.Time.Advance(RecoveryFixture.RecoveryTimeout);
        (await _f.RecoverAsync("/a")).Closed.Should().BeFalse("an attempt exactly RecoveryTimeout old is still the one in flight");
        _f.Coordinator.Commands.Should().ContainSingle();
        _f.Time.Advance(TimeSpan.FromTicks(1));

        (await _f.RecoverAsync("/a")).Closed.Should().BeFalse("a new attempt started; no monitor pass ran");

        var commands = _f.Coordinator.Commands;
        commands.Should().HaveCount(2);
        commands[1].RecoveryId.Should().BeGreaterThan(commands[0].RecoveryId);
        commands[1].PrimaryDataNodeId.Should().NotBe(commands[0].PrimaryDataNodeId);
        _f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 10L });
    }

    [Fact]
    public async Task Primary_IsTheLiveReplicaWithTheMostRecentHeartbeatNotYetTried_ThenTheRoundStartsOver()
    {
        var nodes = new TestDataNodes
        {
            Recover = c => Task.FromResult<BlockRecoveryResult>(new BlockRecoveryFailed(c.BlockId, c.RecoveryId, BlockRecoveryFailure.AllDataNodesFailed, "test", [])),
        };
        nodes.Nodes.AddRange([new DataNodeStatus("dn-1", true, 5), new DataNodeStatus("dn-2", true, 10), new DataNodeStatus("dn-3", true, 1), new DataNodeStatus("dn-4", false, 20)]);
        var f = new LeaseManagerFixture(nodes, new LeaseManagerOptions { SoftLimit = RecoveryFixture.Soft, HardLimit = RecoveryFixture.Hard, ReplicationFactor = 4 });
        f.Add("w", "/a");
        nodes.Nodes[3] = nodes.Nodes[3] with { IsAlive = true };
        (await f.Manager.AddBlockAsync("w", "/a")).Value!.Block.Locations.Should().HaveCount(4);
        nodes.Nodes[3] = nodes.Nodes[3] with { IsAlive = false }; // Down since: never chosen, though its heartbeat is the latest.

        f.Manager.RecoverLease("/a", null, force: true).IsOk.Should().BeTrue();
        for (var i = 0; i < 3; i++)
        {
            await f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
            f.Time.Advance(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
            f.Pass().RecoveriesRetried.Should().Be(1);
        }

        await f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        nodes.Commands.Select(c => c.PrimaryDataNodeId).Should().Equal("dn-2", "dn-1", "dn-3", "dn-2");
    }
}
