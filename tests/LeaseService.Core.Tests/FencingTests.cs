using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>A writer that lost its lease is refused, never silently accepted.</summary>
public sealed class FencingTests
{
    private readonly RecoveryFixture _f = new();

    [Fact]
    public async Task PausedWriter_BlockDeletedByRecovery_LaterWriteIsRefusedByDataNodes()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        var fence = _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, hasData: true);
        fence.IsOk.Should().BeTrue(); // The writer passed the NameNode's check, then paused.

        await _f.RecoverAsync("/a", "ops"); // No replica anywhere: the block is deleted, the file closed.
        _f.File("/a").Should().BeEquivalentTo(new { UnderConstruction = false, Length = 0L });

        var late = await _f.Cluster.WriteAsync(new PipelineWrite(fence.Value!.Locations, block.Block.BlockId, block.Block.GenerationStamp, new byte[64], Finalize: true));
        late.Status.Should().Be(SimulatedWriteStatus.StaleGenerationStamp, late.Message);
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().BeEmpty();
    }

    [Fact]
    public async Task CheckWrite_StaleEpochWithCurrentStamp_IsAborted()
    {
        var epoch = _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");

        var stale = _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, epoch + 1000, hasData: true);

        stale.Kind.Should().Be(OutcomeKind.Aborted);
        stale.Message.Should().Contain("epoch");
        _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, epoch, hasData: true).IsOk.Should().BeTrue();
        _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, 0, hasData: true).IsOk.Should().BeTrue("epoch 0 means not given");
    }

    [Fact]
    public async Task CheckWrite_AfterRecoveryClosedTheFile_IsAbortedEvenWithTheNewStamp()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 10);
        await _f.RecoverAsync("/a", null);
        var recovered = _f.File("/a").Blocks.Single();

        var write = _f.Manager.CheckWrite(recovered.BlockId, recovered.GenerationStamp, 0, hasData: true);

        write.Kind.Should().Be(OutcomeKind.Aborted);
        write.Message.Should().Contain("closed");
    }

    [Fact]
    public async Task Epochs_IncreaseWithEveryRecoveryAttempt()
    {
        var granted = _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 10);
        foreach (var dn in block.Block.Locations)
        {
            _f.Cluster.InjectFailure(dn, RecoveryStep.InitReplicaRecovery);
        }

        await _f.RecoverAsync("/a", null);
        var first = _f.File("/a").Epoch;
        await _f.PassAfterAsync(RecoveryFixture.RecoveryTimeout + TimeSpan.FromSeconds(1));
        var second = _f.File("/a").Epoch;

        new[] { granted, block.Epoch, first, second }.Should().BeInAscendingOrder();
        first.Should().BeGreaterThan(granted);
        second.Should().BeGreaterThan(first);
    }
}
