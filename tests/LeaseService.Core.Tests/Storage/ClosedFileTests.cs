using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// Closed files leave memory once their record is durable and are read from the store when a call
/// needs one: GetFile, RecoverLease, and AddLease appending to it.
/// </summary>
public sealed class ClosedFileTests
{
    private readonly ControllableStore _store = new();
    private readonly RecoveryFixture _f;

    public ClosedFileTests() => _f = new RecoveryFixture(store: _store);

    [Fact]
    public async Task ClosedFile_LeavesMemory_AndGetFileReadsItFromTheStore()
    {
        var length = await WriteAndCloseAsync("w", "/a", 10);
        _f.Open("w", "/open");

        var stats = _f.Manager.GetStatistics();
        var file = _f.File("/a");

        stats.FilesInMemory.Should().Be(1, "only the open file stays in memory");
        stats.Files.Should().Be(2);
        stats.OpenFiles.Should().Be(1);
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(length);
        file.Blocks.Should().ContainSingle().Which.State.Should().Be(BlockState.Complete);
        _store.PointReads.Should().BeGreaterThan(0);
        _f.Manager.GetStatistics().FilesInMemory.Should().Be(1, "a read does not keep the file in memory");
    }

    [Fact]
    public async Task ClosedFile_HeldBackWhileItsCloseIsNotDurable()
    {
        var block = await OpenWithBlockAsync("w", "/a", 10);
        _store.Hold();

        var close = _f.Manager.RemoveLeaseAsync("w", "/a").AsTask();
        _f.Manager.GetStatistics().FilesInMemory.Should().Be(1, "the store does not have the closed record yet");
        _store.Release();
        (await close.DefaultTimeout()).Value.Should().BeTrue();

        _f.Manager.GetStatistics().FilesInMemory.Should().Be(0);
        _f.File("/a").Blocks.Single().BlockId.Should().Be(block.Block.BlockId);
    }

    [Fact]
    public async Task ClosedDeletedAndCreatedAgain_BeforeAnyIsDurable_OnlyTheNewOpenFileStays()
    {
        _f.Open("w", "/a");
        _store.Hold();

        // The closed entry is queued to leave memory; by the time its commit is durable the path
        // belongs to another entry, which must stay.
        var close = _f.Manager.RemoveLeaseAsync("w", "/a").AsTask();
        var delete = _f.Manager.DeleteFileAsync("/a").AsTask();
        var create = _f.Manager.AddLeaseAsync("w2", "/a", "m").AsTask();
        _store.Release();
        Ok(await close.DefaultTimeout()).Should().BeTrue();
        Ok(await delete.DefaultTimeout());
        var created = Ok(await create.DefaultTimeout());

        var stats = _f.Manager.GetStatistics();
        stats.FilesInMemory.Should().Be(1);
        stats.OpenFiles.Should().Be(1);
        Ok(await _f.Manager.GetLeaseAsync("/a")).Epoch.Should().Be(created.Epoch);
        Ok(await _f.Manager.RemoveLeaseAsync("w2", "/a")).Should().BeTrue();
        _f.Manager.GetStatistics().FilesInMemory.Should().Be(0, "the new entry leaves once its own close is durable");
        _f.File("/a").UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task AddLease_OnAClosedFileInTheStore_AppendsWithItsBlocks_AndANewEpoch()
    {
        await WriteAndCloseAsync("w", "/a", 10);
        var closedEpoch = _f.File("/a").Epoch;

        var reopened = _f.Open("other", "/a");
        var second = await _f.AddBlockAsync("other", "/a");

        reopened.Should().BeGreaterThan(closedEpoch);
        var file = _f.File("/a");
        file.Holder.Should().Be("other");
        file.Blocks.Should().HaveCount(2);
        file.Blocks[0].NumBytes.Should().Be(10);
        second.Block.BlockId.Should().BeGreaterThan(file.Blocks[0].BlockId);
        _f.Manager.GetStatistics().Files.Should().Be(1, "an append creates no file");
    }

    [Fact]
    public async Task RecoverLease_OnAClosedFileInTheStore_IsClosedWithItsLength()
    {
        await WriteAndCloseAsync("w", "/a", 7);

        var result = Ok(await _f.Manager.RecoverLeaseAsync("/a", null, force: false));

        result.Closed.Should().BeTrue();
        result.Length.Should().Be(7);
        (await _f.Manager.RecoverLeaseAsync("/missing", null, force: false)).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task WriteToABlockOfAClosedFile_NotInMemory_IsFenced()
    {
        var block = await OpenWithBlockAsync("w", "/a", 10);
        (await _f.Manager.RemoveLeaseAsync("w", "/a")).Value.Should().BeTrue();
        _f.Manager.GetStatistics().FilesInMemory.Should().Be(0);

        var write = _f.Manager.CheckWrite(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, hasData: true);
        var unknown = _f.Manager.CheckWrite(block.Block.BlockId + 1000, 1, 0, hasData: true);

        write.Kind.Should().Be(OutcomeKind.Aborted, "the block was issued and its file is closed");
        unknown.Kind.Should().Be(OutcomeKind.NotFound, "that id was never issued");
    }

    [Fact]
    public async Task AddLease_WhileTheSamePathIsReopenedAndClosedDuringItsStoreRead_ReadsAgainAndSeesTheLaterState()
    {
        await WriteAndCloseAsync("w", "/a", 10);
        _store.OnNextRead = async () =>
        {
            // Between the first caller's read and its locked step: another writer appends a block
            // and closes; the record the first caller read is now stale, and the path left memory again.
            await WriteAndCloseAsync("interloper", "/a", 5);
        };

        var reads = _store.PointReads;
        var lease = Ok(await _f.Manager.AddLeaseAsync("late", "/a", "host"));

        _store.PointReads.Should().BeGreaterThan(reads + 2, "the stale read is repeated");
        lease.Holder.Should().Be("late");
        var file = _f.File("/a");
        file.Blocks.Should().HaveCount(2, "the interloper's block is kept");
        file.Blocks.Sum(b => b.NumBytes).Should().Be(15);
        lease.Epoch.Should().BeGreaterThan(file.Blocks[1].GenerationStamp);
    }

    [Fact]
    public async Task StoreReadFailure_IsUnavailable_AndChangesNothing()
    {
        await WriteAndCloseAsync("w", "/a", 10);
        _store.FailReadsWith = "disk on fire";

        var add = await _f.Manager.AddLeaseAsync("other", "/a", "host");
        var get = await _f.Manager.GetFileAsync("/a");

        add.Kind.Should().Be(OutcomeKind.Unavailable);
        add.Message.Should().Contain("disk on fire");
        get.Kind.Should().Be(OutcomeKind.Unavailable);
        _store.FailReadsWith = null;
        _f.File("/a").UnderConstruction.Should().BeFalse();
        (await _f.Manager.GetLeaseAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task Restart_LoadsOnlyOpenFiles_ClosedOnesStayReadable()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("w", "/open", "m"));
        Ok(await d.Manager.AddLeaseAsync("w", "/closed", "m"));
        Ok(await d.Manager.RemoveLeaseAsync("w", "/closed"));

        await d.RestartAsync();

        var stats = d.Manager.GetStatistics();
        stats.Files.Should().Be(2);
        stats.FilesInMemory.Should().Be(1);
        Ok(await d.Manager.GetFileAsync("/closed")).UnderConstruction.Should().BeFalse();
        Ok(await d.Manager.GetLeaseAsync("/open")).Holder.Should().Be("w");
    }

    [Fact]
    public async Task ClosedFileInTheStore_NamingABlockAnOpenFileHolds_IsRefusedAsCorrupt_AndChangesNothing()
    {
        await WriteAndCloseAsync("w", "/a", 10);
        var open = await OpenWithBlockAsync("w", "/open", 5);
        var stored = RecordCodec.DecodeFile("/a", (await _store.ReadAsync(RecordCodec.FileKey("/a")))!);
        var forged = new FileEntry("/a") { Epoch = stored.Epoch }; // A corrupt store: /a names /open's block.
        forged.Blocks = [new BlockEntry(open.Block.BlockId, stored.Blocks[0].GenerationStamp, stored.Blocks[0].Locations, forged) { NumBytes = 10, State = BlockState.Complete }];
        await _store.WriteAsync([new StoreWrite(RecordCodec.FileKey("/a"), RecordCodec.EncodeFile(forged))]);

        var get = await _f.Manager.GetFileAsync("/a");
        var append = await _f.Manager.AddLeaseAsync("w2", "/a", "m");
        var recover = await _f.Manager.RecoverLeaseAsync("/a", "w2", force: false);

        foreach (var refused in new[] { get.Kind, append.Kind, recover.Kind })
        {
            refused.Should().Be(OutcomeKind.Unavailable);
        }

        get.Message.Should().Contain("storage unavailable: test store: corrupt: block").And.Contain("of /a is also in /open");
        _f.Manager.GetStatistics().FilesInMemory.Should().Be(1, "nothing of /a was brought into memory");
        _f.File("/open").Blocks.Should().ContainSingle().Which.BlockId.Should().Be(open.Block.BlockId);
        Ok(await _f.Manager.RemoveLeaseAsync("w", "/open")).Should().BeTrue("the open file still closes with its block");
    }

    [Fact]
    public void FileRecord_NamingOneBlockTwice_IsCorrupt()
    {
        var file = new FileEntry("/a");
        file.Blocks = [new BlockEntry(5, 1, [], file), new BlockEntry(5, 1, [], file)];

        var decode = () => RecordCodec.DecodeFile("/a", RecordCodec.EncodeFile(file));

        decode.Should().Throw<FormatException>().WithMessage("block 5 appears twice");
    }

    private async Task<AddBlockResult> OpenWithBlockAsync(string holder, string path, int bytes)
    {
        _f.Open(holder, path);
        var block = await _f.AddBlockAsync(holder, path);
        await _f.WriteAsync(block, bytes, finalize: true);
        return block;
    }

    private async Task<long> WriteAndCloseAsync(string holder, string path, int bytes)
    {
        await OpenWithBlockAsync(holder, path, bytes);
        Ok(await _f.Manager.RemoveLeaseAsync(holder, path)).Should().BeTrue();
        return _f.File(path).Length;
    }
}
