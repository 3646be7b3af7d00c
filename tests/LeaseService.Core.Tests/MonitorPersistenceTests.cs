using LeaseService.Core.DataNodes;
using LeaseService.Core.Tests.Storage;
using LeaseService.Testing;

namespace LeaseService.Core.Tests;

/// <summary>
/// Block recoveries the monitor starts, and their completions, reach the store through group
/// commit: a synced write carries many of them, never one write per file.
/// </summary>
public sealed class MonitorPersistenceTests
{
    private const int Files = 50;

    [Fact]
    public async Task RecoveryStartsAndCompletions_ArePersistedInBatches()
    {
        var store = new ControllableStore();
        var time = new FakeTimeProvider();
        var dataNodes = TestDataNodes.Live("dn-1", "dn-2", "dn-3"); // Recovery commands stay in flight until answered here.
        await using var manager = new LeaseManager(
            new LeaseManagerOptions { SoftLimit = LeaseManagerFixture.Soft, HardLimit = LeaseManagerFixture.Hard, MonitorBatchSize = 10 },
            dataNodes,
            time,
            store: store,
            workClock: new FakeTimeProvider());
        await manager.LoadAsync().DefaultTimeout();
        for (var i = 0; i < Files; i++)
        {
            (await manager.AddLeaseAsync($"h{i}", $"/f/{i}", "m")).IsOk.Should().BeTrue();
            (await manager.AddBlockAsync($"h{i}", $"/f/{i}")).IsOk.Should().BeTrue(); // An incomplete last block: recovery needed.
        }

        time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromSeconds(1));
        var beforePass = store.Writes;

        var pass = await manager.RunMonitorPassAsync(LeaseManagerFixture.Budget).DefaultTimeout();

        (pass.RecoveriesStarted, pass.Batches).Should().Be((Files, 5));
        (store.Writes - beforePass).Should().BeInRange(1, 5, "at most one synced write per batch of 10 starts");

        // Every primary answers at once: the commits queue while the first write is held, and
        // the writer takes the rest as one batch.
        var results = new List<(BlockRecoveryCommitted Result, string Path)>();
        for (var i = 0; i < Files; i++)
        {
            var lease = (await manager.GetLeaseAsync($"/f/{i}")).Value!;
            var block = (await manager.GetFileAsync($"/f/{i}")).Value!.Blocks[^1];
            results.Add((new BlockRecoveryCommitted(block.BlockId, lease.RecoveryId, 0, ["dn-1"], DeleteBlock: false), $"/f/{i}"));
        }

        var beforeCompletions = store.Writes;
        store.Hold();
        var applying = results.Select(r => manager.ApplyRecoveryResultAsync(r.Result, r.Path)).ToList();
        store.Release();
        await Task.WhenAll(applying).DefaultTimeout();

        (store.Writes - beforeCompletions).Should().BeInRange(1, 2, $"{Files} completions share the writes queued behind one");
        manager.GetStatistics().OpenFiles.Should().Be(0);
    }

    [Fact]
    public async Task RecoverLease_PolledWhileItsRecoveryRuns_WritesNothing_AndAnswersInProgress()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        (await d.Manager.AddLeaseAsync("w", "/a", "m")).IsOk.Should().BeTrue();
        (await d.Manager.AddBlockAsync("w", "/a")).IsOk.Should().BeTrue();
        var started = (await d.Manager.RecoverLeaseAsync("/a", null, force: true)).Value!;
        started.Closed.Should().BeFalse();
        var before = store.Writes;

        for (var i = 0; i < 10; i++)
        {
            var poll = (await d.Manager.RecoverLeaseAsync("/a", null, force: true)).Value!;
            poll.Closed.Should().BeFalse();
            poll.Lease!.RecoveryId.Should().Be(started.Lease!.RecoveryId, "the same attempt, still running");
        }

        (store.Writes - before).Should().Be(0, "a poll changes nothing, so it persists nothing (HDFS pitfall: every poll rewriting the file)");
    }
}
