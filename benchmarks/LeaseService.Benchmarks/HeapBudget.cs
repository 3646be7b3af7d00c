using LeaseService.Core;

namespace LeaseService.Benchmarks;

/// <summary>
/// Managed heap the lease manager holds for 1,000,000 open files of 100,000 holders (records go
/// to a store that keeps nothing), against the 400 MB budget.
/// Exit code 0 when within budget, 1 when over.
/// </summary>
internal static class HeapBudget
{
    private const long BudgetBytes = 400L * 1024 * 1024;

    public static int Run()
    {
        var holders = Workload.Holders(100_000);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        // The manager's own heap: a store that keeps nothing (the in-memory store would add its
        // copy of every record; the server's RocksDB keeps them off the managed heap).
        var manager = Workload.Create(store: new DiscardingStore());
        manager.LoadAsync().GetAwaiter().GetResult();
        Workload.Fill(manager, holders, 1_000_000);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var stats = manager.GetStatistics();
        GC.KeepAlive(manager);
        GC.KeepAlive(holders);

        var used = after - before;
        Console.WriteLine($"open files: {stats.OpenFiles:N0}, holders: {stats.Holders:N0}");
        Console.WriteLine($"managed heap held: {used / (1024.0 * 1024.0):F1} MiB ({used / (double)stats.OpenFiles:F0} bytes per open file); budget {BudgetBytes / (1024 * 1024)} MiB");
        if (stats.OpenFiles != 1_000_000 || stats.Holders != 100_000)
        {
            Console.WriteLine("FAIL: the workload did not build as expected");
            return 1;
        }

        Console.WriteLine(used <= BudgetBytes ? "PASS" : "FAIL: over budget");
        return used <= BudgetBytes ? 0 : 1;
    }
}

/// <summary>A store that accepts every write and keeps nothing: the heap measured is the manager's own.</summary>
internal sealed class DiscardingStore : LeaseService.Core.Storage.ILeaseStore
{
    public string Description => "discarding store (benchmark)";

    public async IAsyncEnumerable<LeaseService.Core.Storage.StoreEntry> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask;
        yield break;
    }

    public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default) => ValueTask.FromResult<byte[]?>(null);

    public ValueTask WriteAsync(IReadOnlyList<LeaseService.Core.Storage.StoreWrite> batch, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
