using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>Lease recovery driving block recovery end to end through the simulated cluster.</summary>
public sealed class BlockRecoveryTests
{
    private readonly RecoveryFixture _f = new();

    [Fact]
    public async Task FinalizedReplicasLeftAtDifferentLengths_ByARecoveryThatNeverCommitted_TheFileStillCloses()
    {
        // HDFS fails every attempt on FINALIZED replicas of different lengths: the file would stay
        // open until deleted, with every DataNode up.
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        var (dn1, dn2, dn3) = (block.Block.Locations[0], block.Block.Locations[1], block.Block.Locations[2]);
        await _f.WriteAsync(block, 100, replicaLengths: [100, 60, 60]);
        await _f.WriteAsync(block, 0, finalize: true, stopAfter: 1); // The writer's close reached dn1 only.
        _f.Cluster.StopDataNode(dn1);
        _f.Cluster.InjectFailure(dn2, RecoveryStep.PrimaryCommit); // Attempt 1 finalizes dn2, dn3 at 60, then its primary dies.
        await _f.RecoverAsync("/a");
        _f.Coordinator.Commands.Single().PrimaryDataNodeId.Should().Be(dn2);

        foreach (var dn in new[] { dn1, dn2, dn3 })
        {
            _f.Cluster.RestartDataNode(dn);
        }

        for (var i = 0; i < 3 && _f.File("/a").UnderConstruction; i++)
        {
            await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        }

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse("every DataNode is up: the retry must decide");
        file.Length.Should().Be(60, "attempt 1's decision, at the higher generation stamp, wins over dn1's older close");
        file.Blocks.Single().Locations.Should().BeEquivalentTo([dn2, dn3]);
    }

    [Fact]
    public async Task HardLimit_WriterDied_MonitorRecoversToShortestRbwLength()
    {
        _f.Open("writer", "/logs/a");
        var block = await _f.AddBlockAsync("writer", "/logs/a");
        await _f.WriteAsync(block, 100, replicaLengths: [100, 70, 90]);

        var pass = await _f.PassAfterAsync(RecoveryFixture.Hard + TimeSpan.FromSeconds(1));

        pass.RecoveriesStarted.Should().Be(1);
        var file = _f.File("/logs/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(70, "RBW replicas recover to the minimum length");
        file.Blocks.Should().ContainSingle().Which.State.Should().Be(BlockState.Complete);
        file.Blocks[0].GenerationStamp.Should().BeGreaterThan(block.Block.GenerationStamp);
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.NumBytes == 70);
        (await _f.Manager.RenewLeaseAsync("writer")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task ForcedRecovery_FinalizedAndEqualRbw_ClosesAtFinalizedLength()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 64, replicaLengths: [64, 64, 10]);
        await _f.WriteAsync(block, 0, finalize: true, stopAfter: 1); // Only the first replica is finalized.

        var first = await _f.RecoverAsync("/a", "ops");

        first.Closed.Should().BeFalse("block recovery runs in the background");
        var polled = await _f.RecoverAsync("/a", "ops");
        polled.Closed.Should().BeTrue();
        polled.Length.Should().Be(64);
    }

    [Fact]
    public async Task RecoverLease_WhileRecovering_ShowsRecoveringAndNeverStartsASecondRecovery()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.PauseDataNode(dn); // The recovery cannot finish while they are partitioned.
        }

        var first = RecoveryFixture.Ok(_f.Manager.RecoverLease("/a", "ops", force: true));
        var second = RecoveryFixture.Ok(_f.Manager.RecoverLease("/a", "ops", force: true));

        first.Closed.Should().BeFalse();
        first.Lease!.State.Should().Be(LeaseState.Recovering);
        first.Lease.RecoveryId.Should().BePositive();
        first.Lease.Holder.Should().Be("ops");
        second.Lease!.RecoveryId.Should().Be(first.Lease.RecoveryId);
        second.Lease.Epoch.Should().Be(first.Lease.Epoch);
        RecoveryFixture.Ok(_f.Manager.GetLease("/a")).State.Should().Be(LeaseState.Recovering);
        RecoveryFixture.Ok(_f.Manager.ListLeases(null, null, 0, null)).Leases.Single().RecoveryId.Should().Be(first.Lease.RecoveryId);
        _f.File("/a").Blocks[0].State.Should().Be(BlockState.UnderRecovery);

        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.ResumeDataNode(dn);
        }

        await _f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        _f.File("/a").UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task FailedRecovery_IsRetriedByMonitorAfterTimeoutWithNewIdAndNextPrimary()
    {
        await _f.OpenWithUnrecoverableBlockAsync("writer", "/a", 50);

        var first = await _f.RecoverAsync("/a", null);
        first.Closed.Should().BeFalse();
        var firstId = RecoveryFixture.Ok(_f.Manager.GetLease("/a")).RecoveryId;

        (await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout)).RecoveriesRetried.Should().Be(0, "the attempt is not older than the timeout yet");
        var retry = await _f.PassAfterAsync(TimeSpan.FromSeconds(1));

        retry.RecoveriesRetried.Should().Be(1);
        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(50);
        file.Blocks[0].GenerationStamp.Should().BeGreaterThan(firstId, "the retry allocated a new recovery id");
    }

    [Fact]
    public async Task PrimaryDiesMidRecovery_RetryPicksAnotherPrimaryAndCommits()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 30);
        var primary = block.Block.Locations.Order(StringComparer.Ordinal).First(); // Equal heartbeats: lowest id first.
        _f.Cluster.InjectFailure(primary, RecoveryStep.PrimaryCommit);

        (await _f.RecoverAsync("/a", null)).Closed.Should().BeFalse();
        _f.Cluster.ListDataNodes().Single(n => n.DataNodeId == primary).Running.Should().BeFalse("it died before committing");
        await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(30);
        file.Blocks[0].Locations.Should().NotContain(primary);
    }

    [Fact]
    public async Task RestartedDataNodesOnly_AllRwr_RecoverToMinimumLength()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 80, replicaLengths: [80, 60, 75]);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.RestartDataNode(dn); // RBW -> RWR.
        }

        await _f.RecoverAsync("/a", null);

        _f.File("/a").Length.Should().Be(60);
    }

    [Fact]
    public async Task LastBlockNeverWritten_IsDeletedAndFileClosed()
    {
        _f.Open("writer", "/a");
        var first = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(first, 40, finalize: true);
        await _f.AddBlockAsync("writer", "/a"); // Allocated, nothing written anywhere.

        await _f.RecoverAsync("/a", null);

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Blocks.Should().ContainSingle().Which.BlockId.Should().Be(first.Block.BlockId);
        file.Length.Should().Be(40);
    }

    [Fact]
    public async Task AllReplicasCompleteAtClose_ClosesWithoutBlockRecovery()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 10, finalize: true);

        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Value.Should().BeTrue();

        _f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 10L });
    }

    [Fact]
    public async Task RemoveLease_LastBlockNotFinalized_ReturnsFalseThenTrueOnceFinalized()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 10);

        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Value.Should().BeFalse();
        _f.File("/a").Blocks[0].State.Should().Be(BlockState.Committed);

        await _f.WriteAsync(block, 0, finalize: true);
        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Value.Should().BeTrue();
        _f.File("/a").Length.Should().Be(10);
    }

    [Fact]
    public async Task CommittedBlockThatNeverReplicates_MonitorRecoversInsteadOfWedging()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 25);
        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Value.Should().BeFalse(); // COMMITTED, writer then dies.

        await _f.PassAfterAsync(RecoveryFixture.Hard + TimeSpan.FromSeconds(1));

        var file = _f.File("/a");
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(25);
    }

    [Fact]
    public async Task CommittedBlockFinalizedAfterTheClose_RecoverLeaseRunsBlockRecovery_AndClosesAtTheFinalizedLength()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 25);
        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Value.Should().BeFalse();
        await _f.WriteAsync(block, 0, finalize: true); // FINALIZED everywhere; the writer dies before closing again.

        var recovered = await _f.RecoverAsync("/a");

        recovered.Closed.Should().BeFalse("the NameNode here learns of FINALIZED replicas only by asking: block recovery, not a close at once as HDFS");
        _f.Coordinator.Commands.Should().ContainSingle();
        var file = _f.File("/a");
        file.Should().BeEquivalentTo(new { UnderConstruction = false, Length = 25L });
        file.Blocks[0].GenerationStamp.Should().Be(_f.Coordinator.Commands[0].RecoveryId);
    }

    [Fact]
    public async Task RecoveryInProgress_OriginalWriterIsFenced()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.PauseDataNode(dn);
        }

        RecoveryFixture.Ok(_f.Manager.RecoverLease("/a", null, force: true)).Lease!.Holder.Should().StartWith(LeaseValidation.RecoveryHolderPrefix);

        (await _f.Manager.AddBlockAsync("writer", "/a")).Kind.Should().Be(OutcomeKind.FailedPrecondition);
        (await _f.Manager.RemoveLeaseAsync("writer", "/a")).Kind.Should().Be(OutcomeKind.FailedPrecondition);
        _f.Manager.AddLease("writer", "/a", "host").Kind.Should().Be(OutcomeKind.Unavailable);
        _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, hasData: true).Kind.Should().Be(OutcomeKind.Aborted);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.ResumeDataNode(dn);
        }

        await _f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        var stale = await _f.Cluster.WriteAsync(new PipelineWrite(block.Block.Locations, block.Block.BlockId, block.Block.GenerationStamp, new byte[5]));
        stale.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp, "the paused writer meets the new generation stamp");
    }

    [Fact]
    public async Task SoftLimitTakeover_WithBlocks_UnavailableUntilRecoveryClosesThenGranted()
    {
        var oldEpoch = _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 42);
        _f.Time.Advance(RecoveryFixture.Soft + TimeSpan.FromSeconds(1));

        var attempt = _f.Manager.AddLease("other", "/a", "host-b");
        attempt.Kind.Should().Be(OutcomeKind.Unavailable);
        attempt.Message.Should().Contain("recovery in progress");
        await _f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();

        var granted = RecoveryFixture.Ok(_f.Manager.AddLease("other", "/a", "host-b"));
        granted.Holder.Should().Be("other");
        granted.Epoch.Should().BeGreaterThan(oldEpoch);
        _f.File("/a").Length.Should().Be(42);
    }

    [Fact]
    public async Task AddBlock_OnlyHolderPreviousMustBeFinalizedAndNeedsLiveDataNodes()
    {
        _f.Open("writer", "/a");
        (await _f.Manager.AddBlockAsync("intruder", "/a")).Kind.Should().Be(OutcomeKind.FailedPrecondition);
        (await _f.Manager.AddBlockAsync("writer", "/missing")).Kind.Should().Be(OutcomeKind.NotFound);
        var first = await _f.AddBlockAsync("writer", "/a");
        first.Block.Locations.Should().HaveCount(3).And.OnlyHaveUniqueItems();
        await _f.WriteAsync(first, 5);

        (await _f.Manager.AddBlockAsync("writer", "/a")).Kind.Should().Be(OutcomeKind.FailedPrecondition, "the previous block is not finalized");
        await _f.WriteAsync(first, 0, finalize: true);
        var second = await _f.AddBlockAsync("writer", "/a");
        _f.File("/a").Blocks.Select(b => b.State).Should().Equal(BlockState.Complete, BlockState.UnderConstruction);
        second.Block.Locations.Should().NotEqual(first.Block.Locations, "pipelines rotate over the DataNodes");

        _f.Open("writer", "/b");
        foreach (var dn in _f.Cluster.DataNodeIds)
        {
            _f.Cluster.StopDataNode(dn);
        }

        var none = await _f.Manager.AddBlockAsync("writer", "/b");
        none.Kind.Should().Be(OutcomeKind.Unavailable);
        none.Message.Should().Contain("too few live DataNodes");
    }

    [Fact]
    public async Task ListLeases_ByTheServiceRecoveryHolder_ShowsFilesUnderRecovery()
    {
        _f.Open("writer", "/a");
        var block = await _f.AddBlockAsync("writer", "/a");
        await _f.WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.PauseDataNode(dn);
        }

        var holder = RecoveryFixture.Ok(_f.Manager.RecoverLease("/a", null, force: true)).Lease!.Holder;

        var page = RecoveryFixture.Ok(_f.Manager.ListLeases(holder, null, 0, null));
        page.Leases.Should().ContainSingle().Which.Should().BeEquivalentTo(new { Path = "/a", State = LeaseState.Recovering });
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.ResumeDataNode(dn);
        }

        await _f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
    }
}
