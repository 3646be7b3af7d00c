using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;
using LeaseService.Core.Tests.Storage;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Core.Tests;

/// <summary>
/// The monitor under a backlog: its per-pass budget counts lock-hold time on the work clock (not
/// lease time), batches span leases oldest first, a pass says what it left, logs one summary,
/// and persists a batch at a time.
/// </summary>
public sealed class MonitorBudgetTests
{
    private static readonly TimeSpan Budget = LeaseManagerFixture.Budget; // 25 ms

    private static LeaseManagerOptions Options(int batch) => new()
    {
        SoftLimit = LeaseManagerFixture.Soft,
        HardLimit = LeaseManagerFixture.Hard,
        MonitorBatchSize = batch,
    };

    /// <summary>Holders h1..hN, one second apart (h1 oldest), each with <paramref name="files"/> files, all past the hard limit.</summary>
    private static void ExpireHolders(LeaseManagerFixture f, int holders, int files = 1)
    {
        for (var h = 1; h <= holders; h++)
        {
            for (var i = 1; i <= files; i++)
            {
                f.Add($"h{h}", $"/h{h}/{i}");
            }

            f.Time.Advance(TimeSpan.FromSeconds(1));
        }

        f.Time.Advance(LeaseManagerFixture.Hard);
    }

    private static bool IsOpen(LeaseManagerFixture f, string path) => f.Manager.GetLease(path).IsOk;

    [Fact]
    public void BudgetSpentOnTheWorkClock_StopsAfterThatManyBatchesOldestFirst_NextPassResumes()
    {
        var f = new LeaseManagerFixture(options: Options(batch: 1));
        ExpireHolders(f, 5);
        var leaseNow = f.Time.GetTimestamp();

        // Each work-clock read moves it 10 ms: a batch (read on taking and on leaving the lock) holds
        // it 10 ms, so the 25 ms budget is spent after the third.
        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(10);
        var first = f.Pass();

        (first.Batches, first.FilesClosed, first.BudgetExhausted, first.BacklogFiles).Should().Be((3, 3, true, 2));
        first.LockHeld.Should().Be(TimeSpan.FromMilliseconds(30));
        new[] { "/h1/1", "/h2/1", "/h3/1" }.Should().OnlyContain(p => !IsOpen(f, p), "the oldest go first");
        new[] { "/h4/1", "/h5/1" }.Should().OnlyContain(p => IsOpen(f, p));
        f.Time.GetTimestamp().Should().Be(leaseNow, "lease time stood still: only the work clock spent the budget");

        var second = f.Pass();

        (second.FilesClosed, second.BudgetExhausted, second.BacklogFiles).Should().Be((2, false, 0));
        f.Manager.GetStatistics().OpenFiles.Should().Be(0);
    }

    [Fact]
    public void LeaseClockRacingAhead_DoesNotSpendTheBudget()
    {
        var f = new LeaseManagerFixture(options: Options(batch: 1));
        ExpireHolders(f, 50);

        // Before, the budget was measured on the lease clock: an hour per read spent it at once.
        f.Time.AutoAdvanceAmount = TimeSpan.FromHours(1);
        var pass = f.Pass();
        f.Time.AutoAdvanceAmount = TimeSpan.Zero;

        (pass.FilesClosed, pass.BudgetExhausted, pass.BacklogFiles).Should().Be((50, false, 0));
        pass.LockHeld.Should().Be(TimeSpan.Zero, "the work clock did not move");
    }

    [Fact]
    public void Batch_SpansLeasesOldestFirst()
    {
        var f = new LeaseManagerFixture(options: Options(batch: 3));
        ExpireHolders(f, 3, files: 2);

        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(30); // One batch spends the budget.
        var pass = f.Pass();

        (pass.Batches, pass.LeasesExamined, pass.FilesExpired, pass.BacklogFiles).Should().Be((1, 2, 3, 3));
        IsOpen(f, "/h1/1").Should().BeFalse();
        IsOpen(f, "/h1/2").Should().BeFalse();
        new[] { IsOpen(f, "/h2/1"), IsOpen(f, "/h2/2") }.Count(open => open).Should().Be(1, "one file of the next-oldest lease fills the batch");
        IsOpen(f, "/h3/1").Should().BeTrue();
        IsOpen(f, "/h3/2").Should().BeTrue();
    }

    [Fact]
    public void Pass_LogsOneInformationSummaryWithItsCounts_PerFileEventsAtDebug()
    {
        var log = new CapturingLogger();
        var f = new LeaseManagerFixture(options: Options(batch: 2), logger: log);
        ExpireHolders(f, 3, files: 2);
        f.Time.Advance(TimeSpan.FromSeconds(7));
        f.Add("young", "/young");
        log.Clear();

        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(10);
        var pass = f.Pass(); // Three batches of two: h1, h2, h3 whole.

        var info = log.Entries.Where(e => e.Level >= LogLevel.Information).ToList();
        info.Should().ContainSingle().Which.Id.Should().Be(1020);
        var summary = info[0].Values;
        summary["Expired"].Should().Be(6);
        summary["Leases"].Should().Be(3);
        summary["Closed"].Should().Be(6);
        summary["Started"].Should().Be(0);
        summary["Backlog"].Should().Be(0);
        summary["Batches"].Should().Be(3);
        summary["LockHeldMs"].Should().Be(30.0);
        summary["OldestOverdueSeconds"].Should().Be(0.0);
        pass.BacklogFiles.Should().Be(0);

        log.Entries.Where(e => e.Id is 1003 or 1006).Should().HaveCount(12).And.OnlyContain(e => e.Level == LogLevel.Debug);

        log.Clear();
        f.Pass().DidWork.Should().BeFalse();
        log.Entries.Should().BeEmpty("a pass that did nothing says nothing");
    }

    [Fact]
    public void Summary_ReportsTheBacklogLeftAndHowOverdueItsOldestIs()
    {
        var log = new CapturingLogger();
        var f = new LeaseManagerFixture(options: Options(batch: 1), logger: log);
        ExpireHolders(f, 4); // h1 is 4 s past the hard limit, h4 1 s.
        log.Clear();

        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(30);
        var pass = f.Pass();

        (pass.FilesExpired, pass.BacklogFiles, pass.OldestOverdue).Should().Be((1, 3, TimeSpan.FromSeconds(3)));
        var summary = log.Entries.Single(e => e.Id == 1020).Values;
        summary["Backlog"].Should().Be(3);
        summary["OldestOverdueSeconds"].Should().Be(3.0);
    }

    [Fact]
    public async Task OverdueGauge_CountsFilesPastTheHardLimit_AndDropsWithRenewalAndRecovery()
    {
        using var metrics = new MeterReader();
        var f = new LeaseManagerFixture(options: Options(batch: 1), meter: metrics.Meter);
        const string Overdue = "leaseservice.lease.overdue_files";
        f.Add("a", "/a/1");
        f.Add("a", "/a/2");
        f.Add("b", "/b/1");
        f.Time.Advance(TimeSpan.FromSeconds(1));
        f.Add("c", "/c/1");
        f.Time.Advance(LeaseManagerFixture.Hard);

        metrics[Overdue].Should().Be(3, "a and b are past the hard limit, c is exactly at it");
        f.Time.Advance(TimeSpan.FromTicks(1));
        metrics[Overdue].Should().Be(4);

        await f.Manager.RenewLeaseAsync("b");
        metrics[Overdue].Should().Be(3);

        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(30);
        f.Pass().FilesClosed.Should().Be(1); // One file of a.
        metrics[Overdue].Should().Be(2);

        f.WorkClock.AutoAdvanceAmount = TimeSpan.Zero;
        f.Pass();
        metrics[Overdue].Should().Be(0);
        f.Manager.GetLease("/b/1").IsOk.Should().BeTrue();
    }

    [Fact]
    public async Task Pass_PersistsABatchAtATime_NotOneSyncPerFile()
    {
        var store = new ControllableStore();
        var time = new FakeTimeProvider();
        await using var manager = new LeaseManager(Options(batch: 100), TestDataNodes.None(), time, store: store, workClock: new FakeTimeProvider());
        await manager.LoadAsync().DefaultTimeout();
        for (var h = 0; h < 1000; h++)
        {
            (await manager.AddLeaseAsync($"h{h}", $"/f/{h}", "m")).IsOk.Should().BeTrue();
        }

        time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromSeconds(1));
        var writesBefore = store.Writes;

        var pass = await manager.RunMonitorPassAsync(Budget).DefaultTimeout();

        (pass.FilesClosed, pass.Batches).Should().Be((1000, 10));
        (store.Writes - writesBefore).Should().BeInRange(1, 10, "each batch is at most one synced write (fewer when the writer groups them), never one per file");
        await manager.DisposeAsync();
        var reloaded = new LeaseManager(Options(batch: 100), TestDataNodes.None(), new FakeTimeProvider(), store: store);
        await reloaded.LoadAsync().DefaultTimeout();
        reloaded.GetStatistics().OpenFiles.Should().Be(0, "every close is durable once the pass completes");
        await reloaded.DisposeAsync();
    }

    [Fact]
    public async Task FilesWithManyBlocks_ABatchEndsAfterItsBlockBound_NotOnlyItsFileCount()
    {
        // 40 expired files of 1,024 blocks each (complete, the last one empty and under construction),
        // loaded from a store: each changed file's whole record is encoded under the lock.
        const int Files = 40, Blocks = 1024;
        var store = new InMemoryLeaseStore();
        var writes = new List<StoreWrite> { new(RecordCodec.FormatKey, RecordCodec.EncodeFormat()) };
        long id = 0, stamp = 0;
        for (var f = 0; f < Files; f++)
        {
            var file = new FileEntry($"/big/{f}") { Lease = new Lease($"w{f % 2}", null), Epoch = ++stamp, Blocks = [] }; // Two holders of 20 files.
            for (var b = 0; b < Blocks; b++)
            {
                var last = b == Blocks - 1;
                file.Blocks.Add(new BlockEntry(++id, ++stamp, ["dn-1", "dn-2", "dn-3"], file) { NumBytes = last ? 0 : 1024, State = last ? BlockState.UnderConstruction : BlockState.Complete });
            }

            writes.Add(new StoreWrite(RecordCodec.FileKey(file), RecordCodec.EncodeFile(file)));
        }

        writes.Add(new StoreWrite(RecordCodec.CountersKey, RecordCodec.EncodeCounters(stamp, id)));
        await store.WriteAsync(writes);
        var time = new FakeTimeProvider();
        await using var manager = new LeaseManager(Options(batch: 128), TestDataNodes.Live("dn-1", "dn-2", "dn-3"), time, store: store, workClock: new FakeTimeProvider());
        await manager.LoadAsync();
        time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromSeconds(1));

        var pass = await manager.RunMonitorPassAsync(Budget);

        pass.FilesExpired.Should().Be(Files);
        pass.Batches.Should().Be((int)Math.Ceiling(Files * (double)Blocks / LeaseManager.MonitorBatchBlocks), "a batch of 128 files would hold 40 x 1,024 blocks under the lock at once");
    }
}
