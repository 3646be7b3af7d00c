using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>AddBlock and RemoveLease: retries, refusals that change nothing, and concurrent calls.</summary>
public sealed class AddBlockAndCloseTests
{
    private readonly RecoveryFixture _f = new();

    [Fact]
    public async Task AddBlock_RetryAfterLostResponse_ReturnsTheSameBlockAndItStaysWritable()
    {
        _f.Open("w", "/a");
        var first = await _f.AddBlockAsync("w", "/a");

        var retry = await _f.AddBlockAsync("w", "/a"); // The first answer was lost; nothing written yet.

        retry.Should().BeEquivalentTo(first);
        _f.File("/a").Blocks.Should().ContainSingle();
        await _f.WriteAsync(first, 10, finalize: true);
        (await _f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue();
        _f.File("/a").Length.Should().Be(10);
    }

    [Fact]
    public async Task AddBlock_BeforeFinalizing_IsRefusedWithoutChangingTheBlock()
    {
        _f.Open("w", "/a");
        var first = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(first, 10);

        var early = await _f.Manager.AddBlockAsync("w", "/a");

        early.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        _f.File("/a").Blocks.Single().State.Should().Be(BlockState.UnderConstruction, "a refusal changes nothing");
        await _f.WriteAsync(first, 5, finalize: true); // The writer can still finish the block.
        var second = await _f.AddBlockAsync("w", "/a");
        second.Block.BlockId.Should().NotBe(first.Block.BlockId);
        _f.File("/a").Blocks[0].Should().BeEquivalentTo(new { State = BlockState.Complete, NumBytes = 15L });
    }

    [Fact]
    public async Task AddBlock_OnAFileWithTheMostBlocks_IsRefusedWithoutChangingIt_AndTheFileStillCloses()
    {
        var f = new RecoveryFixture(maxBlocksPerFile: 2);
        f.Open("w", "/a");
        await f.WriteAsync(await f.AddBlockAsync("w", "/a"), 10, finalize: true);
        var second = await f.AddBlockAsync("w", "/a");
        (await f.AddBlockAsync("w", "/a")).Should().BeEquivalentTo(second, "a retry of the last allocation still gets its block");
        await f.WriteAsync(second, 5, finalize: true);

        var third = await f.Manager.AddBlockAsync("w", "/a");

        third.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        third.Message.Should().Be("/a has 2 blocks, the most a file may have (2); close it and write on in another file");
        f.File("/a").Blocks.Should().HaveCount(2).And.Subject.Last().State.Should().Be(BlockState.UnderConstruction, "a refusal changes nothing");
        (await f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue();
        f.File("/a").Length.Should().Be(15);
    }

    [Fact]
    public async Task AddBlock_AfterAppendingToAFileWithTheMostBlocks_IsRefused_SoNoAppendGrowsItPastTheLimit()
    {
        var f = new RecoveryFixture(maxBlocksPerFile: 2);
        f.Open("w", "/a");
        await f.WriteAsync(await f.AddBlockAsync("w", "/a"), 10, finalize: true);
        await f.WriteAsync(await f.AddBlockAsync("w", "/a"), 5, finalize: true);
        (await f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue();
        f.Open("appender", "/a"); // Every block COMPLETE: no block in progress to weigh the limit against.

        var third = await f.Manager.AddBlockAsync("appender", "/a");

        third.Kind.Should().Be(OutcomeKind.FailedPrecondition, third.ToString());
        third.Message.Should().Be("/a has 2 blocks, the most a file may have (2); close it and write on in another file");
        f.File("/a").Blocks.Should().HaveCount(2, "a refusal changes nothing");
        (await f.Manager.RemoveLeaseAsync("appender", "/a")).Value.Should().BeTrue();
        f.File("/a").Length.Should().Be(15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task RemoveLease_FinalizedReplicasOfDifferentLengths_FirstOneShort_ClosesAtTheLongest(int minReplication)
    {
        var f = new RecoveryFixture(minReplication: minReplication);
        f.Open("w", "/a");
        var block = await f.AddBlockAsync("w", "/a");
        // Acknowledged: 10 bytes; the pipeline's first DataNode finalized only 8 of them.
        await f.WriteAsync(block, 10, finalize: true, replicaLengths: [8, 10, 10]);

        (await f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue("two replicas are FINALIZED at the length the writer wrote");

        f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 10L });
    }

    [Fact]
    public async Task AddBlock_PreviousFinalizedAtDifferentLengths_FirstOneShort_CompletesItAtTheLongest()
    {
        var f = new RecoveryFixture(minReplication: 2);
        f.Open("w", "/a");
        await f.WriteAsync(await f.AddBlockAsync("w", "/a"), 10, finalize: true, replicaLengths: [8, 10, 10]);

        var next = await f.Manager.AddBlockAsync("w", "/a");

        next.IsOk.Should().BeTrue(next.ToString());
        f.File("/a").Blocks[0].Should().BeEquivalentTo(new { State = BlockState.Complete, NumBytes = 10L });
    }

    [Fact]
    public async Task RemoveLease_NotFinalized_CommitsBlock_WhichTakesOnlyThePipelineClose()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 10);

        (await _f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeFalse();

        (await _f.TryWriteAsync(block, 5)).Should().StartWith("FailedPrecondition", "a committed block takes no more data");
        (await _f.TryWriteAsync(block, 0, finalize: true)).Should().Be("Written");
        (await _f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue();
        _f.File("/a").Length.Should().Be(10);
    }

    [Fact]
    public async Task AddBlock_Concurrent_NeverLeavesTwoIncompleteBlocks()
    {
        _f.Open("w", "/a");
        Outcome<AddBlockResult> inner = default;
        _f.Coordinator.OnNextGetDataNodes = () => inner = _f.Manager.AddBlockAsync("w", "/a").AsTask().GetAwaiter().GetResult();

        var outer = await _f.Manager.AddBlockAsync("w", "/a");

        inner.IsOk.Should().BeTrue(inner.ToString());
        outer.Kind.Should().Be(OutcomeKind.Unavailable, "the file changed under the call; retry");
        _f.File("/a").Blocks.Should().ContainSingle();
        var again = await _f.AddBlockAsync("w", "/a");
        again.Block.BlockId.Should().Be(inner.Value!.Block.BlockId, "the retry gets the block the other call allocated");
    }

    [Fact]
    public async Task AddBlock_BlockRecoveredWhileAskingReplicas_RefusesAndKeepsRecoveredLength()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 40);
        _f.Coordinator.OnNextGetReplicas = async () =>
        {
            await _f.RecoverAsync("/a", "w"); // Forced recovery commits the block meanwhile...
            _f.Open("w", "/a");               // ...and the writer reopens the file.
        };

        var outcome = await _f.Manager.AddBlockAsync("w", "/a");

        outcome.Kind.Should().Be(OutcomeKind.Unavailable);
        _f.File("/a").Blocks.Single().Should().BeEquivalentTo(new { State = BlockState.Complete, NumBytes = 40L });
    }

    [Fact]
    public async Task RemoveLease_RecoveryStartedWhileAskingReplicas_IsRefused()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 10, finalize: true);
        _f.Coordinator.OnNextGetReplicas = () => _f.RecoverAsync("/a", "ops");

        var outcome = await _f.Manager.RemoveLeaseAsync("w", "/a");

        outcome.Kind.Should().BeOneOf(OutcomeKind.NotFound, OutcomeKind.FailedPrecondition);
        _f.File("/a").Length.Should().Be(10);
    }

    [Fact]
    public async Task AddBlock_PreviousFinalizedOnFewerThanMinReplication_IsUnavailableNotAConflict()
    {
        var f = new RecoveryFixture(minReplication: 2);
        f.Open("w", "/a");
        var block = await f.AddBlockAsync("w", "/a");
        await f.WriteAsync(block, 10, finalize: true);
        f.Cluster.StopDataNode(block.Block.Locations[1]);
        f.Cluster.StopDataNode(block.Block.Locations[2]);

        var outcome = await f.Manager.AddBlockAsync("w", "/a");

        outcome.Kind.Should().Be(OutcomeKind.Unavailable, "replicas may come back: retry, the lease is still the writer's");
        f.File("/a").Blocks.Single().State.Should().Be(BlockState.UnderConstruction);
    }

    [Fact]
    public async Task AddBlock_AfterTwoToTheThirtyOneBlocks_StillGetsAPipeline()
    {
        // The round-robin cursor over the live DataNodes, 2^31 blocks in (days at 10k blocks/s).
        var cursor = typeof(LeaseManager).GetField("_pipelineCursor", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        cursor.SetValue(_f.Manager, Convert.ChangeType(int.MaxValue, cursor.FieldType, System.Globalization.CultureInfo.InvariantCulture));
        _f.Open("w", "/a");
        _f.Open("w", "/b");

        (await _f.Manager.AddBlockAsync("w", "/a")).IsOk.Should().BeTrue();
        var next = await _f.Manager.AddBlockAsync("w", "/b");

        next.IsOk.Should().BeTrue(next.ToString());
        next.Value!.Block.Locations.Should().HaveCount(3).And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task AddBlock_EveryDataNodeOfTheFilledLastBlockDown_Unavailable_NotTheSameBlockAgain()
    {
        _f.Open("w", "/a");
        var first = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(first, 10, finalize: true);
        foreach (var dn in first.Block.Locations)
        {
            _f.Cluster.StopDataNode(dn);
        }

        var next = await _f.Manager.AddBlockAsync("w", "/a");

        next.Kind.Should().Be(OutcomeKind.Unavailable, $"block {first.Block.BlockId} holds 10 finalized bytes nobody could be asked about; the answer was {next}");
        foreach (var dn in first.Block.Locations)
        {
            _f.Cluster.RestartDataNode(dn);
        }

        (await _f.Manager.AddBlockAsync("w", "/a")).Value!.Block.BlockId.Should().NotBe(first.Block.BlockId, "once they answer, the block is complete and the next one is allocated");
    }
}
