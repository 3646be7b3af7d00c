using System.Diagnostics;
using LeaseService.Core;
using LeaseService.Core.Storage;
using LeaseService.Storage.RocksDb;

namespace LeaseService.Benchmarks;

/// <summary>
/// Where a monitor pass spends its time under a backlog, in process (no gRPC, no other callers):
/// <c>backlog [files] [holders] [rocksdb|inmemory] [batch]</c> opens the files, moves lease time
/// past the hard limit for all of them at once, then runs passes back to back (as the hosted loop
/// does while a backlog remains) with the default 25 ms budget until none is left. Reports
/// recoveries/s, and how the time splits between holding the lock (deciding, encoding records)
/// and the rest (the synced writes, logging, yielding). Checks that every file was recovered.
/// </summary>
internal static class MonitorBacklog
{
    public static async Task<int> RunAsync(int files, int holders, string engine, int batch)
    {
        var directory = Path.Combine(Path.GetTempPath(), "leaseservice-backlog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            await using ILeaseStore store = engine == "inmemory" ? new InMemoryLeaseStore() : RocksDbLeaseStore.Open(directory);
            var clock = new ManualClock();
            var hard = TimeSpan.FromHours(1);
            await using var manager = new LeaseManager(
                new LeaseManagerOptions { SoftLimit = TimeSpan.FromSeconds(60), HardLimit = hard, MonitorBatchSize = batch },
                Workload.NoDataNodesInstance,
                clock,
                store: store);
            await manager.LoadAsync();
            var fill = Stopwatch.StartNew();
            var names = Workload.Holders(holders);
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 256).Select(_ => Task.Run(async () =>
            {
                for (int i; (i = Interlocked.Increment(ref next)) < files;)
                {
                    var outcome = await manager.AddLeaseAsync(names[i % holders], $"/warehouse/part-{i % 1000:D4}/file-{i:D8}.parquet", "worker-17.example.internal");
                    if (!outcome.IsOk)
                    {
                        throw new InvalidOperationException(outcome.ToString());
                    }
                }
            })));
            Console.WriteLine($"opened {files:N0} files / {holders:N0} holders on {engine} in {fill.Elapsed.TotalSeconds:F1} s");

            clock.Advance(hard + TimeSpan.FromSeconds(1));
            var budget = TimeSpan.FromMilliseconds(25);
            var passes = 0;
            var batches = 0L;
            var held = TimeSpan.Zero;
            var inPasses = TimeSpan.Zero;
            var recovered = 0L;
            var gcBefore = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
            var pauseBefore = GC.GetTotalPauseDuration();
            var allocatedBefore = GC.GetTotalAllocatedBytes();
            var run = Stopwatch.StartNew();
            MonitorPassResult pass;
            do
            {
                pass = await manager.RunMonitorPassAsync(budget);
                passes++;
                batches += pass.Batches;
                held += pass.LockHeld;
                inPasses += pass.Elapsed;
                recovered += pass.FilesExpired;
                await Task.Yield();
            }
            while (pass.BudgetExhausted);

            var seconds = run.Elapsed.TotalSeconds;
            var stats = manager.GetStatistics();
            if (recovered != files || stats.OpenFiles != 0)
            {
                Console.WriteLine($"FAIL: recovered {recovered} of {files}; {stats.OpenFiles} still open");
                return 1;
            }

            var gcs = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2) - gcBefore;
            Console.WriteLine(
                $"recovered {recovered:N0} files in {seconds:F2} s: {recovered / seconds:F0} recoveries/s; {passes} passes, {batches} batches of {batch}\n" +
                $"  under the lock {held.TotalSeconds:F2} s ({held.TotalMicroseconds / recovered:F2} µs per file, {held.TotalMilliseconds / batches:F3} ms per batch); " +
                $"rest of the passes (synced writes, effects, yields) {(inPasses - held).TotalSeconds:F2} s; between passes {(run.Elapsed - inPasses).TotalSeconds:F2} s\n" +
                $"  allocated {(GC.GetTotalAllocatedBytes() - allocatedBefore) / (double)recovered:F0} B per file; {gcs} GCs, pause {(GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds:F0} ms");
            return 0;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Lease time that moves only when told (the whole backlog expires at once).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _now = Stopwatch.GetTimestamp();

        public override long TimestampFrequency => Stopwatch.Frequency;

        public override long GetTimestamp() => Volatile.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)(by.TotalSeconds * Stopwatch.Frequency));
    }
}
