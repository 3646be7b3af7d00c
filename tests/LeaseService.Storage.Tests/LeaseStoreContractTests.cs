using System.Text;
using LeaseService.Core.Storage;

namespace LeaseService.Storage.Tests;

/// <summary>
/// What every <see cref="ILeaseStore"/> engine must do, one subclass per engine. "Reopen" is
/// what a restart does to the engine (the in-memory one keeps its instance: it survives only
/// its process).
/// </summary>
public abstract class LeaseStoreContractTests : IAsyncLifetime
{
    private ILeaseStore? _store;

    protected ILeaseStore Store => _store!;

    public async Task InitializeAsync() => _store = await OpenAsync();

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        await CleanUpAsync();
    }

    [ContractFact]
    public async Task ReadAll_EmptyStore_ReturnsNothing()
    {
        (await Store.ReadAllAsync().ToListAsync()).Should().BeEmpty();
    }

    [ContractFact]
    public async Task ReadAll_ReturnsEveryKeyInOrdinalOrder()
    {
        await Store.WriteAsync([Put("file//b", "2"), Put("meta/format", "f"), Put("file//a", "1"), Put("file//B", "3"), Put("file//é", "4")]);

        var keys = (await Store.ReadAllAsync().ToListAsync()).Select(e => e.Key).ToList();

        keys.Should().Equal(["file//B", "file//a", "file//b", "file//é", "meta/format"], "ordinal (UTF-8 byte) order");
    }

    [ContractFact]
    public async Task Write_LaterWriteOfAKeyInOneBatch_Wins_AndDeleteRemoves()
    {
        await Store.WriteAsync([Put("k1", "old"), Put("k2", "x")]);

        await Store.WriteAsync([Put("k1", "mid"), Put("k1", "new"), new StoreWrite("k2", null), Put("k3", "y"), new StoreWrite("k3", null)]);

        var entries = await Store.ReadAllAsync().ToListAsync();
        entries.Select(e => (e.Key, Encoding.UTF8.GetString(e.Value.Span))).Should().Equal([("k1", "new")]);
    }

    [ContractFact]
    public async Task Write_BinaryValues_RoundTripExactly()
    {
        var value = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();

        await Store.WriteAsync([new StoreWrite("bin", value), new StoreWrite("empty", [])]);

        var entries = (await Store.ReadAllAsync().ToListAsync()).ToDictionary(e => e.Key, e => e.Value.ToArray());
        entries["bin"].Should().Equal(value);
        entries["empty"].Should().BeEmpty();
    }

    [ContractFact]
    public async Task Write_ManyBatches_AllSurviveAReopen()
    {
        for (var i = 0; i < 50; i++)
        {
            await Store.WriteAsync([.. Enumerable.Range(0, 20).Select(j => Put($"file//p{i:D3}/{j:D3}", $"{i}.{j}"))]);
        }

        _store = await ReopenAsync(Store);

        var entries = await Store.ReadAllAsync().ToListAsync();
        entries.Should().HaveCount(1000);
        Encoding.UTF8.GetString(entries[^1].Value.Span).Should().Be("49.19");
    }

    [ContractFact]
    public async Task Read_MissingKey_ReturnsNull()
    {
        await Store.WriteAsync([Put("file//a", "1")]);

        (await Store.ReadAsync("file//b")).Should().BeNull();
        (await Store.ReadAsync("file//")).Should().BeNull("a prefix of a key is not the key");
        (await Store.ReadAsync("file//a/")).Should().BeNull("a key is not a prefix match");
    }

    [ContractFact]
    public async Task Read_SeesTheLastCompletedBatch_PutsDeletesAndNonAsciiKeys()
    {
        await Store.WriteAsync([Put("file//é/x", "old"), Put("gone", "x")]);
        await Store.WriteAsync([Put("file//é/x", "new"), new StoreWrite("gone", null), Put("empty", string.Empty)]);

        Encoding.UTF8.GetString((await Store.ReadAsync("file//é/x"))!).Should().Be("new");
        (await Store.ReadAsync("gone")).Should().BeNull("deleted by a later batch");
        (await Store.ReadAsync("empty")).Should().NotBeNull().And.BeEmpty("an empty value is not an absent key");
    }

    [ContractFact]
    public async Task Read_ReturnsTheCallersCopy_AndSurvivesAReopen()
    {
        await Store.WriteAsync([Put("k", "value")]);
        var first = (await Store.ReadAsync("k"))!;
        first[0] = (byte)'X';

        Encoding.UTF8.GetString((await Store.ReadAsync("k"))!).Should().Be("value", "changing a returned array must not change the store");
        _store = await ReopenAsync(Store);
        Encoding.UTF8.GetString((await Store.ReadAsync("k"))!).Should().Be("value");
    }

    [ContractFact]
    public async Task Read_ConcurrentWithWrites_SeesEachKeyWholeOrNotAtAll()
    {
        var value = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await Store.WriteAsync([new StoreWrite($"k{i % 10}", value), new StoreWrite($"k{(i + 5) % 10}", null)]);
            }
        });
        var reads = 0;
        while (!writer.IsCompleted || reads < 100)
        {
            var read = await Store.ReadAsync($"k{reads++ % 10}");
            if (read is not null)
            {
                read.Should().Equal(value);
            }
        }

        await writer;
    }

    [ContractFact]
    public async Task Write_ConcurrentBatchesFromOneWriterAtATime_AreAllApplied()
    {
        // The group-commit writer is one caller; still, sequential awaits from different threads must work.
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                lock (this)
                {
                    Store.WriteAsync([Put($"t{t}/{i}", "v")]).AsTask().GetAwaiter().GetResult();
                }
            }

            await Task.CompletedTask;
        }));
        await Task.WhenAll(tasks);

        (await Store.ReadAllAsync().ToListAsync()).Should().HaveCount(80);
    }

    /// <summary>A new, empty store.</summary>
    protected abstract Task<ILeaseStore> OpenAsync();

    /// <summary>What a restart does: close and open the same data again.</summary>
    protected abstract Task<ILeaseStore> ReopenAsync(ILeaseStore store);

    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    private static StoreWrite Put(string key, string value) => new(key, Encoding.UTF8.GetBytes(value));
}

public sealed class InMemoryLeaseStoreContractTests : LeaseStoreContractTests
{
    protected override Task<ILeaseStore> OpenAsync() => Task.FromResult<ILeaseStore>(new InMemoryLeaseStore());

    protected override Task<ILeaseStore> ReopenAsync(ILeaseStore store) => Task.FromResult(store);
}

public sealed class RocksDbLeaseStoreContractTests : LeaseStoreContractTests
{
    private readonly TempDirectory _directory = new();

    protected override Task<ILeaseStore> OpenAsync() => Task.FromResult<ILeaseStore>(RocksDb.RocksDbLeaseStore.Open(_directory.Path));

    protected override async Task<ILeaseStore> ReopenAsync(ILeaseStore store)
    {
        await store.DisposeAsync();
        return RocksDb.RocksDbLeaseStore.Open(_directory.Path);
    }

    protected override Task CleanUpAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}
