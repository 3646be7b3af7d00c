using System.Diagnostics;
using LeaseService.Core;
using LeaseService.Storage.RocksDb;

namespace LeaseService.Benchmarks;

/// <summary>
/// Durable core throughput and restart time on the RocksDB engine in a temp directory (no gRPC):
/// <c>durable [concurrency] [seconds]</c> opens distinct paths from that many concurrent callers,
/// each answered only once its group commit is synced, and reports req/s, latency percentiles, and
/// the process's CPU time and bytes allocated per call (with <c>ALLOC_SAMPLES=1</c> also the
/// runtime's allocation samples by type, <see cref="AllocationSampler"/>);
/// <c>restart [files] [holders]</c> fills the store, then times loading it into a new manager
/// (what start-up does before SERVING) and reports bytes on disk per open file. Each checks its
/// own results.
/// </summary>
internal static class DurableThroughput
{
    public static async Task<int> RunAddsAsync(int concurrency, int seconds)
    {
        var directory = TempDirectory();
        try
        {
            await using var store = RocksDbLeaseStore.Open(directory);
            await using var manager = Workload.Create(store: store);
            await manager.LoadAsync();
            var latencies = new List<double>[concurrency];
            using var sampler = Environment.GetEnvironmentVariable("ALLOC_SAMPLES") is null ? null : new AllocationSampler();
            sampler?.Start();
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var stop = Stopwatch.StartNew();
            var deadline = TimeSpan.FromSeconds(seconds);
            var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
            {
                var mine = latencies[w] = [];
                for (var i = 0; stop.Elapsed < deadline; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    var outcome = await manager.AddLeaseAsync($"holder-{w}", $"/load/{w}/{i:D8}", "bench");
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    if (!outcome.IsOk)
                    {
                        throw new InvalidOperationException(outcome.ToString());
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers);
            var elapsed = stop.Elapsed.TotalSeconds;
            var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            sampler?.Stop();
            var all = latencies.SelectMany(l => l).Order().ToArray();
            var stats = manager.GetStatistics();
            if (stats.OpenFiles != all.Length)
            {
                throw new InvalidOperationException($"{stats.OpenFiles} open files after {all.Length} grants");
            }

            Console.WriteLine($"durable AddLease (new paths), RocksDB, {concurrency} concurrent callers, {elapsed:F1} s: {all.Length / elapsed:F0} req/s; latency ms p50 {P(all, 0.5):F2} p90 {P(all, 0.9):F2} p99 {P(all, 0.99):F2} max {all[^1]:F2}; CPU {cpu.TotalMicroseconds / all.Length:F1} µs and {(double)allocated / all.Length:F0} bytes allocated per call (the caller's path string and latency list included)");
            sampler?.Print(all.Length, 30);
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    public static async Task<int> RunRestartAsync(int files, int holders)
    {
        var directory = TempDirectory();
        try
        {
            var fill = Stopwatch.StartNew();
            await using (var store = RocksDbLeaseStore.Open(directory))
            {
                await using var manager = Workload.Create(store: store);
                await manager.LoadAsync();
                var next = -1;
                var workers = Enumerable.Range(0, 256).Select(_ => Task.Run(async () =>
                {
                    for (int i; (i = Interlocked.Increment(ref next)) < files;)
                    {
                        var outcome = await manager.AddLeaseAsync($"holder-{i % holders:D6}", $"/warehouse/part-{i % 1000:D4}/file-{i:D8}.parquet", "worker-17.example.internal");
                        if (!outcome.IsOk)
                        {
                            throw new InvalidOperationException(outcome.ToString());
                        }
                    }
                })).ToArray();
                await Task.WhenAll(workers);
            }

            var bytes = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            Console.WriteLine($"filled {files:N0} open files / {holders:N0} holders in {fill.Elapsed.TotalSeconds:F1} s; {bytes:N0} bytes on disk, {(double)bytes / files:F0} bytes per open file");

            var load = Stopwatch.StartNew();
            await using var reopened = RocksDbLeaseStore.Open(directory);
            await using var restarted = Workload.Create(store: reopened);
            await restarted.LoadAsync();
            var loaded = load.Elapsed;
            var stats = restarted.GetStatistics();
            if (stats.OpenFiles != files || stats.Holders != Math.Min(holders, files))
            {
                throw new InvalidOperationException($"loaded {stats.OpenFiles} files / {stats.Holders} holders");
            }

            Console.WriteLine($"restart: open + load of {files:N0} open files until serving: {loaded.TotalSeconds:F2} s");
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static double P(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];

    private static string TempDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "leaseservice-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
