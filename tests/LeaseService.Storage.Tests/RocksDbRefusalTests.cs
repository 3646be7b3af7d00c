using LeaseService.Core;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Storage;
using LeaseService.Storage.RocksDb;
using LeaseService.Testing;

namespace LeaseService.Storage.Tests;

/// <summary>The RocksDB engine never lets the server start empty over data it cannot read.</summary>
public sealed class RocksDbRefusalTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Open_PathIsAFile_IsRefusedNamingThePath()
    {
        var file = Path.Combine(_directory.Path, "data");
        File.WriteAllText(file, "not a directory");

        var open = () => RocksDbLeaseStore.Open(file);

        open.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(file).And.Contain("not a directory");
    }

    [Fact]
    public void Open_ParentIsAFile_IsRefused()
    {
        // Tests run as root, which chmod cannot stop: a file where a directory must be is a
        // directory nobody can create or enter, for root too.
        var file = Path.Combine(_directory.Path, "blocker");
        File.WriteAllText(file, "x");
        var path = Path.Combine(file, "data");

        var open = () => RocksDbLeaseStore.Open(path);

        open.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(path);
    }

    [Fact]
    public async Task Open_SecondOpenOfTheSameStore_IsRefusedAsLocked()
    {
        await using var first = RocksDbLeaseStore.Open(_directory.Path);

        var second = () => RocksDbLeaseStore.Open(_directory.Path);

        second.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(_directory.Path).And.Contain("lock");
    }

    [Fact]
    public async Task Open_CorruptStore_IsRefusedNamingThePath()
    {
        await using (var store = RocksDbLeaseStore.Open(_directory.Path))
        {
            await store.WriteAsync([new StoreWrite("meta/format", [1, 0, 0, 0])]);
        }

        // Overwrite every file RocksDB keeps (manifest, current, tables, log) with garbage.
        foreach (var file in Directory.GetFiles(_directory.Path))
        {
            if (!file.EndsWith("LOCK", StringComparison.Ordinal) && !Path.GetFileName(file).StartsWith("LOG", StringComparison.Ordinal))
            {
                File.WriteAllBytes(file, [.. Enumerable.Repeat((byte)0x5A, 4096)]);
            }
        }

        var open = async () =>
        {
            await using var store = RocksDbLeaseStore.Open(_directory.Path);
            await store.ReadAllAsync().ToListAsync();
        };

        (await open.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain(_directory.Path);
    }

    [Fact]
    public async Task Open_CorruptRecordInTheMiddleOfTheWriteAheadLog_IsRefused_NotLoadedAsAShorterHistory()
    {
        var wal = await GrantAsync(["/a", "/b", "/c"]);

        // One flipped byte in the value of /b's grant: synced and acknowledged, with /c's after it.
        var bytes = File.ReadAllBytes(wal);
        var at = bytes.AsSpan().IndexOf("file//b"u8);
        at.Should().BePositive("the grant of /b is in the write-ahead log");
        bytes[at + 8] ^= 0xFF;
        File.WriteAllBytes(wal, bytes);

        var open = () => RocksDbLeaseStore.Open(_directory.Path);

        open.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(_directory.Path).And.Contain("Corruption");
    }

    [Fact]
    public async Task Open_WriteAheadLogCutInItsLastRecord_Opens_WithEveryEarlierRecord()
    {
        var wal = await GrantAsync(["/a", "/b", "/c"]);

        // A crash in the middle of writing the last batch (never acknowledged: it was not synced).
        var bytes = File.ReadAllBytes(wal);
        var lastBatch = bytes.AsSpan().LastIndexOf("file//c"u8);
        File.WriteAllBytes(wal, bytes[..(lastBatch + 3)]);

        await using var reopened = RocksDbLeaseStore.Open(_directory.Path);
        await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: reopened);
        await manager.LoadAsync();

        (await manager.GetLeaseAsync("/a")).Value!.Holder.Should().Be("w");
        (await manager.GetLeaseAsync("/b")).Value!.Holder.Should().Be("w");
        (await manager.GetLeaseAsync("/c")).Kind.Should().Be(OutcomeKind.NotFound, "its batch was cut short");
    }

    [Fact]
    public async Task Open_CurrentFileMissing_IsRefusedAtEveryStart_NotOpenedAsANewEmptyStore()
    {
        await GrantAsync(["/a"]);
        var current = Path.Combine(_directory.Path, "CURRENT");
        var manifest = await File.ReadAllTextAsync(current);
        File.Delete(current);

        // A restart policy starts the server again after the refusal: the second start must refuse too.
        var open = () => RocksDbLeaseStore.Open(_directory.Path);
        open.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(_directory.Path);
        open.Should().Throw<LeaseStoreException>("the first refusal must not leave a new, empty store behind")
            .Which.Message.Should().Contain(_directory.Path).And.Contain("no CURRENT file");

        // Nothing was changed by the refusals: with CURRENT back, the grant is there.
        await File.WriteAllTextAsync(current, manifest);
        await using var reopened = RocksDbLeaseStore.Open(_directory.Path);
        await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: reopened);
        await manager.LoadAsync();
        (await manager.GetLeaseAsync("/a")).Value!.Holder.Should().Be("w");
    }

    [Fact]
    public async Task Open_DirectoryWithOtherFilesButNoRocksDbData_CreatesTheStore()
    {
        Directory.CreateDirectory(Path.Combine(_directory.Path, "datanodes"));
        Directory.CreateDirectory(Path.Combine(_directory.Path, "lost+found"));
        await File.WriteAllTextAsync(Path.Combine(_directory.Path, "README.log"), "notes");

        await using var store = RocksDbLeaseStore.Open(_directory.Path);
        await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: store);
        await manager.LoadAsync();

        (await manager.AddLeaseAsync("w", "/a", "m")).IsOk.Should().BeTrue();
    }

    [Fact]
    public async Task Open_WriteAheadLogsDeleted_IsRefused_NotLoadedAsAnOlderHistory()
    {
        await GrantAsync(["/a"]);
        await GrantAsync(["/b"]); // Opening again moved /a into a table; /b is in the write-ahead log only.
        foreach (var log in Directory.GetFiles(_directory.Path, "*.log"))
        {
            File.Delete(log); // Taken for log files to clean up, or left out of a backup.
        }

        var open = () => RocksDbLeaseStore.Open(_directory.Path);

        open.Should().Throw<LeaseStoreException>().Which.Message.Should().Contain(_directory.Path).And.Contain("WAL");
    }

    [Fact]
    public async Task Open_StoreWrittenWithoutLogTracking_OpensWithEverything_AndAfterACrash()
    {
        // A store an earlier build wrote (its logs name no predecessor).
        using (var db = RocksDbSharp.RocksDb.Open(new RocksDbSharp.DbOptions().SetCreateIfMissing(true), _directory.Path))
        {
            db.Put("meta/format"u8.ToArray(), new byte[] { 1, 0, 0, 0 }, cf: null, writeOptions: new RocksDbSharp.WriteOptions().SetSync(true));
        }

        await using (var store = RocksDbLeaseStore.Open(_directory.Path))
        {
            await store.WriteAsync([new StoreWrite("a", [1])]);

            // What a crash leaves on disk: the files as they are, with the store still open.
            using var copy = new TempDirectory();
            foreach (var file in Directory.GetFiles(_directory.Path).Where(f => Path.GetFileName(f) != "LOCK"))
            {
                File.Copy(file, Path.Combine(copy.Path, Path.GetFileName(file)));
            }

            await using var crashed = RocksDbLeaseStore.Open(copy.Path);
            (await crashed.ReadAllAsync().Select(e => e.Key).ToListAsync()).Should().Equal("a", "meta/format");
        }

        await using var reopened = RocksDbLeaseStore.Open(_directory.Path);
        (await reopened.ReadAllAsync().Select(e => e.Key).ToListAsync()).Should().Equal("a", "meta/format");
    }

    [Fact]
    public async Task Load_FutureFormatVersion_IsRefusedNamingThePath()
    {
        await using (var store = RocksDbLeaseStore.Open(_directory.Path))
        {
            await store.WriteAsync([new StoreWrite("meta/format", [99, 0, 0, 0])]);
        }

        await using var reopened = RocksDbLeaseStore.Open(_directory.Path);
        await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: reopened);

        var load = () => manager.LoadAsync();

        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain(_directory.Path).And.Contain("format version 99");
    }

    [Fact]
    public async Task Manager_OnRocksDb_KeepsItsStateAcrossAReopen()
    {
        long epoch;
        await using (var store = RocksDbLeaseStore.Open(_directory.Path))
        {
            await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: store);
            await manager.LoadAsync();
            epoch = (await manager.AddLeaseAsync("w", "/a", "m")).Value!.Epoch;
        }

        await using var reopened = RocksDbLeaseStore.Open(_directory.Path);
        await using var again = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: reopened);
        await again.LoadAsync();

        var lease = await again.GetLeaseAsync("/a");
        lease.Value!.Holder.Should().Be("w");
        lease.Value.Epoch.Should().Be(epoch);
    }

    /// <summary>Grants each path to holder "w" on a manager over the store, one synced batch each, and closes both; the write-ahead log's path.</summary>
    private async Task<string> GrantAsync(string[] paths)
    {
        await using (var store = RocksDbLeaseStore.Open(_directory.Path))
        {
            await using var manager = new LeaseManager(new LeaseManagerOptions(), new NoDataNodes(), new FakeTimeProvider(), store: store);
            await manager.LoadAsync();
            foreach (var path in paths)
            {
                (await manager.AddLeaseAsync("w", path, "m")).IsOk.Should().BeTrue();
            }
        }

        return Directory.GetFiles(_directory.Path, "*.log").Single();
    }

    private sealed class NoDataNodes : IDataNodeCoordinator
    {
        public IReadOnlyList<DataNodeStatus> GetDataNodes() => [];

        public ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<ReplicaReport>>([]);

        public ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
            => throw new InvalidOperationException("no DataNodes");
    }
}
