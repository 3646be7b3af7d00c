using LeaseService.Core;

namespace LeaseService.Benchmarks;

/// <summary>
/// Managed heap held by 1,000,000 open files of 100,000 holders, against the 400 MB budget.
/// Exit code 0 when within budget, 1 when over.
/// </summary>
internal static class HeapBudget
{
    private const long BudgetBytes = 400L * 1024 * 1024;

    public static int Run()
    {
        var holders = Workload.Holders(100_000);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var manager = Workload.Create();
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
