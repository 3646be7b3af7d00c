using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>The core's fenced write: checked before the DataNodes see anything, and again after.</summary>
public sealed class FencedBlockWriterTests
{
    private readonly RecoveryFixture _f = new();
    private readonly CountingPipeline _pipeline;
    private readonly FencedBlockWriter _writer;

    public FencedBlockWriterTests()
    {
        _pipeline = new CountingPipeline(new SimulatedBlockPipeline(_f.Cluster));
        _writer = new FencedBlockWriter(_f.Manager, _pipeline);
    }

    [Fact]
    public async Task Write_CurrentTokens_ReachesEveryReplicaOfThePipeline()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");

        var written = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], null, 0, null, finalize: true, null, default).DefaultTimeout();

        written.IsOk.Should().BeTrue(written.Message);
        written.Value!.Select(r => r.DataNodeId).Should().Equal(block.Block.Locations);
        written.Value!.Should().OnlyContain(r => r.NumBytes == 10 && r.State == ReplicaState.Finalized);
    }

    [Fact]
    public async Task Write_StaleEpoch_AbortedAndTheDataNodesSeeNothing()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");

        var stale = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch + 1, new byte[10], null, 0, null, false, null, default).DefaultTimeout();

        stale.Kind.Should().Be(OutcomeKind.Aborted);
        _pipeline.Writes.Should().Be(0);
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().BeEmpty();
    }

    [Fact]
    public async Task Write_FencedWhileTheBytesWereInFlight_NeverAcknowledged()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        _pipeline.AfterWrite = () => _f.RecoverAsync("/a", "ops"); // Lease recovery starts while the bytes travel.

        var late = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], null, 0, null, false, null, default).DefaultTimeout();

        late.Kind.Should().Be(OutcomeKind.Aborted);
        late.Message.Should().Contain("fenced meanwhile");
        _pipeline.Writes.Should().Be(1, "the bytes did reach the DataNodes; recovery decides whether they count");
    }

    [Fact]
    public async Task Write_StoreFailedWhileTheBytesWereInFlight_UnavailableNotFenced_AndTheWriterStillHoldsTheFile()
    {
        var store = new Storage.ControllableStore();
        var f = new RecoveryFixture(store: store);
        var pipeline = new CountingPipeline(new SimulatedBlockPipeline(f.Cluster));
        var writer = new FencedBlockWriter(f.Manager, pipeline);
        f.Open("w", "/a");
        var block = await f.AddBlockAsync("w", "/a");
        pipeline.AfterWrite = async () =>
        {
            // Another call's write fails while the bytes travel: every call is refused until a restore.
            store.FailWith = "disk I/O error";
            (await f.Manager.AddLeaseAsync("x", "/b", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
        };

        var written = await writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], 0, 0, null, false, null, default).DefaultTimeout();

        // ABORTED tells the writer it was fenced (LeaseWriter gives the path up); nothing fenced it.
        written.Kind.Should().Be(OutcomeKind.Unavailable, written.Message);
        written.Message.Should().Contain("storage unavailable").And.Contain("disk I/O error");
        store.FailWith = null;
        (await f.Manager.TryRestoreStorageAsync().DefaultTimeout()).Should().BeTrue();
        var fence = await f.Manager.CheckWriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, hasData: true);
        fence.IsOk.Should().BeTrue("the writer still holds /a at the same epoch: " + fence.Message);
        f.Cluster.ListReplicas(block.Block.BlockId).Should().OnlyContain(r => r.NumBytes == 10, "the bytes are there for the retry to confirm");
    }

    [Fact]
    public async Task Write_StoppedDataNodeInThePipeline_Unavailable()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        _f.Cluster.StopDataNode(block.Block.Locations[1]);

        var refused = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], null, 0, null, false, null, default).DefaultTimeout();

        refused.Kind.Should().Be(OutcomeKind.Unavailable, refused.Message);
    }

    [Fact]
    public async Task Write_WhileAnotherWriteOfTheBlockRuns_UnavailableRetry_NothingWritten()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        var held = _f.Cluster.HangDataNodeWrites(block.Block.Locations[1]);
        var first = _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], 0, 0, null, false, null, default);
        await held.DefaultTimeout(); // Its bytes are on the first DataNode; the second is about to take them.

        var second = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], 0, 0, null, false, null, default).DefaultTimeout();

        second.Kind.Should().Be(OutcomeKind.Unavailable, second.Message);
        second.Message.Should().Contain("another write to the block is in progress");
        _f.Cluster.ReleaseDataNode(block.Block.Locations[1]);
        (await first.DefaultTimeout()).IsOk.Should().BeTrue();
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().OnlyContain(r => r.NumBytes == 10, "the second write reached no replica");
    }

    [Fact]
    public async Task Write_OffsetWhereTheBlockDoesNotEnd_FailedPreconditionNamingItsLength_NothingWritten()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");
        var first = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], 0, 0, null, false, null, default).DefaultTimeout();
        first.IsOk.Should().BeTrue(first.Message);

        var again = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[10], 0, 0, null, false, null, default).DefaultTimeout();

        again.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        again.Message.Should().Contain("holds 10 bytes").And.Contain("starts at byte 0");
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().OnlyContain(r => r.NumBytes == 10);
    }

    [Fact]
    public async Task Write_NegativeOffset_InvalidArgumentBeforeAnyCheck()
    {
        var refused = await _writer.WriteAsync(1, 1, 0, new byte[1], -1, 0, null, false, null, default).DefaultTimeout();

        refused.Kind.Should().Be(OutcomeKind.InvalidArgument);
        refused.Message.Should().Be("offset must not be negative");
        _pipeline.Writes.Should().Be(0);
    }

    [Fact]
    public async Task Write_NegativeStopAfterReplicas_InvalidArgumentBeforeAnyCheck()
    {
        var refused = await _writer.WriteAsync(1, 1, 0, new byte[1], null, -1, null, false, null, default).DefaultTimeout();

        refused.Kind.Should().Be(OutcomeKind.InvalidArgument);
        _pipeline.Writes.Should().Be(0);
    }

    [Fact]
    public async Task Write_NoGenerationStamp_InvalidArgumentNotFenced()
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");

        var refused = await _writer.WriteAsync(block.Block.BlockId, 0, block.Epoch, new byte[1], null, 0, null, false, null, default).DefaultTimeout();

        refused.Kind.Should().Be(OutcomeKind.InvalidArgument, "a request without its generation stamp is malformed; \"fenced\" would tell a writer its lease is gone");
        refused.Message.Should().Be("generation_stamp must be positive (the one AddBlock returned)");
        _pipeline.Writes.Should().Be(0);
    }

    [Theory]
    [InlineData(new long[] { 2 }, "replica_lengths[0] must be between 0 and the 1 bytes of data")]
    [InlineData(new long[] { 1, -1 }, "replica_lengths[1] must be between 0 and the 1 bytes of data")]
    [InlineData(new long[] { 1, 1, 1, 1 }, "replica_lengths has 4 entries for a pipeline of 3 DataNodes")]
    public async Task Write_ReplicaLengthsThatDoNotFit_InvalidArgumentNamingTheField_NothingWritten(long[] lengths, string message)
    {
        _f.Open("w", "/a");
        var block = await _f.AddBlockAsync("w", "/a");

        var refused = await _writer.WriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, new byte[1], null, 0, lengths, false, null, default).DefaultTimeout();

        refused.Kind.Should().Be(OutcomeKind.InvalidArgument);
        refused.Message.Should().Be(message, "no .NET parameter suffix reaches the client");
        _pipeline.Writes.Should().Be(0);
        _f.Cluster.ListReplicas(block.Block.BlockId).Should().BeEmpty();
    }

    /// <summary>The simulated pipeline, counting writes and running a step right after one.</summary>
    private sealed class CountingPipeline(IBlockPipeline inner) : IBlockPipeline
    {
        public int Writes { get; private set; }

        public Func<Task>? AfterWrite { get; set; }

        public async Task<PipelineWriteResult> WriteAsync(PipelineWrite write, CancellationToken cancellationToken)
        {
            var result = await inner.WriteAsync(write, cancellationToken);
            Writes++;
            if (AfterWrite is { } after)
            {
                await after();
            }

            return result;
        }
    }
}
