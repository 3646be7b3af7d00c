using LeaseService.Core.Storage;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// A replica's manager (etcd provider): activated when elected (restart semantics plus a grace),
/// deactivated when deposed; batches cut at the store's key limit (one etcd transaction each).
/// </summary>
public sealed class FailoverTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Activate_RestoredLease_CannotBeTakenOverBeforeSoftLimitPlusGrace()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        d.Time.Advance(TimeSpan.FromMinutes(5)); // Long past the soft limit on the old active.

        var standby = d.Create();
        (await standby.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        d.Time.Advance(DurableManager.Soft + Grace);
        var early = await standby.AddLeaseAsync("other", "/logs/a", "host-b");
        d.Time.Advance(TimeSpan.FromTicks(1));
        var late = await standby.AddLeaseAsync("other", "/logs/a", "host-b");

        early.Kind.Should().Be(OutcomeKind.FailedPrecondition, "a failover counts every lease as renewed at serving start plus the grace");
        Ok(late).Holder.Should().Be("other");
    }

    [Fact]
    public async Task Activate_RenewalWithinTheGrace_DoesNotShortenIt_AndKeepsTheExpiryOrder()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("a", "/a", "m"));
        Ok(await d.Manager.AddLeaseAsync("b", "/b", "m"));

        var standby = d.Create();
        (await standby.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        d.Time.Advance(TimeSpan.FromSeconds(1));
        (await standby.RenewLeaseAsync("a")).Value.Should().Be(1); // Within the grace: counts as renewed at its end.
        d.Time.Advance(DurableManager.Hard + Grace - TimeSpan.FromSeconds(1));

        var pass = await standby.RunMonitorPassAsync(TimeSpan.FromSeconds(1));

        pass.LeasesExamined.Should().Be(0, "no lease passes the hard limit before hard limit + grace from serving start");
        var lease = Ok(await standby.GetLeaseAsync("/a"));
        lease.HardLimitRemaining.Should().Be(TimeSpan.Zero);
        d.Time.Advance(TimeSpan.FromTicks(1));
        (await standby.RunMonitorPassAsync(TimeSpan.FromSeconds(1))).LeasesExamined.Should().Be(2);
    }

    [Fact]
    public async Task Activate_CountersContinueAboveEverythingTheOldActiveIssued()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        var before = Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
        var block = Ok(await d.Manager.AddBlockAsync("w", "/a"));

        var standby = d.Create();
        (await standby.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        var after = Ok(await standby.AddLeaseAsync("v", "/b", "m"));
        var nextBlock = Ok(await standby.AddBlockAsync("v", "/b"));

        after.Epoch.Should().BeGreaterThan(Math.Max(before.Epoch, block.Block.GenerationStamp));
        nextBlock.Block.BlockId.Should().BeGreaterThan(block.Block.BlockId);
    }

    [Fact]
    public async Task Counters_LeftBehindByAWritePartlyApplied_AreRewritten_SoNoTokenIsIssuedTwice()
    {
        // etcd writes a batch above its limits as several transactions: a failure after the first
        // leaves a file record holding block ids and generation stamps the counters record does
        // not (the counters come after the step's files). The reload counts them from the file;
        // once that file is deleted the counters record alone must still be above them.
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
        store.ApplyNextWriteWithout = "meta/counters";
        (await d.Manager.AddBlockAsync("w", "/a")).Kind.Should().Be(OutcomeKind.Unavailable);
        (await d.Manager.TryRestoreStorageAsync().DefaultTimeout()).Should().BeTrue();
        var applied = Ok(await d.Manager.GetFileAsync("/a")).Blocks.Should().ContainSingle().Subject;
        Ok(await d.Manager.DeleteFileAsync("/a"));

        var standby = d.Create();
        (await standby.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        var lease = Ok(await standby.AddLeaseAsync("v", "/b", "m"));
        var block = Ok(await standby.AddBlockAsync("v", "/b"));

        block.Block.BlockId.Should().BeGreaterThan(applied.BlockId, "block id {0} was issued (and written) before", applied.BlockId);
        lease.Epoch.Should().BeGreaterThan(applied.GenerationStamp);
        block.Block.GenerationStamp.Should().BeGreaterThan(applied.GenerationStamp);
    }

    [Fact]
    public async Task Activate_WhenTheProbeWriteFails_StaysLoading_AndRetriesLater()
    {
        var store = new ControllableStore { FailWith = "not the active replica" };
        var d = new DurableManager(store);

        (await d.Manager.ActivateAsync(Grace).DefaultTimeout()).Should().BeFalse();
        d.Manager.StorageStatus.Should().Be(StorageStatus.Loading);
        (await d.Manager.AddLeaseAsync("w", "/a", "m")).Kind.Should().Be(OutcomeKind.Unavailable);

        store.FailWith = null;
        (await d.Manager.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
    }

    [Fact]
    public async Task Deactivate_DropsTheState_RefusesCalls_UntilActivatedAgain()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
        var statuses = new List<StorageStatus>();
        d.Manager.StorageStatusChanged += statuses.Add;

        d.Manager.Deactivate("deposed");

        d.Manager.StorageStatus.Should().Be(StorageStatus.Loading);
        (await d.Manager.GetLeaseAsync("/a")).Kind.Should().Be(OutcomeKind.Unavailable);
        (await d.Manager.RenewLeaseAsync("w")).Kind.Should().Be(OutcomeKind.Unavailable);
        d.Manager.GetStatistics().OpenFiles.Should().Be(0);

        (await d.Manager.ActivateAsync(Grace).DefaultTimeout()).Should().BeTrue();
        Ok(await d.Manager.GetLeaseAsync("/a")).Holder.Should().Be("w");
        statuses.Should().Equal(StorageStatus.Loading, StorageStatus.Healthy);
    }

    [Fact]
    public async Task Deactivate_WithACommitInFlight_TheStoreRefusesIt_CallerUnavailable_StatusStaysLoading()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        store.Hold();
        var pending = d.Manager.AddLeaseAsync("w", "/a", "m").AsTask();

        d.Manager.Deactivate("deposed");
        store.FailWith = "not the active replica";
        store.Release();

        (await pending.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        d.Manager.StorageStatus.Should().Be(StorageStatus.Loading, "a standby has nothing to restore: no storage failure to report");
        d.Manager.StorageFailure.Should().BeNull();
    }

    [Fact]
    public async Task Deactivate_WithAWriteAtTheStore_ItsFailureIsNotLoggedAsAStorageFailure()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        store.Hold();
        var pending = d.Manager.AddLeaseAsync("w", "/a", "m").AsTask();
        await store.Held.Task.DefaultTimeout(); // The batch is at the store (an etcd transaction in flight).

        d.Manager.Deactivate("deposed");
        store.FailWith = "etcd write failed: DeadlineExceeded";
        store.Release();

        (await pending.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        d.Manager.StorageStatus.Should().Be(StorageStatus.Loading);

        // 1101 is an Error saying calls answer UNAVAILABLE until a write succeeds and the state is
        // reloaded: a deposed replica does neither (1103 said why it stopped serving).
        var log = string.Join("; ", d.Log.Entries.Select(e => $"{e.Id} {e.Level} {e.Message}"));
        d.Log.Entries.Should().NotContain(e => e.Id == 1101, log);
        var refused = d.Log.Entries.Should().ContainSingle(e => e.Id == 1104, log).Which;
        refused.Level.Should().Be(LogLevel.Information);
        refused.Message.Should().Contain("DeadlineExceeded");
    }

    [Fact]
    public async Task Deactivate_CommitsQueuedInTheOldTerm_AreNotWrittenUnderTheNextTermsGuard()
    {
        var store = new TermGuardedStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        var m = d.Manager;
        store.DelayNextAnswer();
        var inFlight = m.AddLeaseAsync("w", "/x", "m").AsTask();
        await store.Applied.Task.DefaultTimeout();       // Term 1: written, its answer delayed.
        var queued = m.AddLeaseAsync("w", "/y", "m").AsTask(); // Decided in term 1, queued behind it.

        store.Guard = null;                               // Term 1 ends.
        m.Deactivate("deposed");
        store.StartTerm(2);                               // Elected again.
        var activate = m.ActivateAsync(TimeSpan.Zero);
        store.Release();

        (await activate.DefaultTimeout()).Should().BeTrue();
        Ok(await inFlight.DefaultTimeout());
        var y = await queued.DefaultTimeout();
        var other = await m.AddLeaseAsync("other", "/y", "m");

        y.Kind.Should().Be(OutcomeKind.Unavailable, "it was decided on term 1's state");
        y.Message.Should().Contain("deposed");
        Ok(other).Holder.Should().Be("other", "nothing of the refused grant reached the store");
        Ok(await m.GetLeaseAsync("/x")).Holder.Should().Be("w", "the write that reached the store under term 1's guard stays");
    }

    [Fact]
    public async Task Deactivate_WhileARestoreReadsTheStore_TheRestoreInstallsNothing_AndWritesNothingStale()
    {
        var store = new TermGuardedStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        var a = d.Manager;
        store.FailWith = "I/O error";
        (await a.AddLeaseAsync("w", "/x", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
        store.FailWith = null;
        store.AfterNextReadAll = async () =>
        {
            // The restore's probe is written and its snapshot taken (term 1). Now a is deposed,
            store.Guard = null;
            a.Deactivate("deposed");

            // b serves term 2 and grants /z,
            store.StartTerm(2);
            var b = d.Create();
            (await b.ActivateAsync(TimeSpan.Zero)).Should().BeTrue();
            Ok(await b.AddLeaseAsync("other", "/z", "m"));
            await b.DisposeAsync();

            // and a is elected again (term 3), before it activates.
            store.StartTerm(3);
        };

        var restored = await a.TryRestoreStorageAsync().DefaultTimeout();
        var status = a.StorageStatus;
        var grab = await a.AddLeaseAsync("w", "/z", "m");
        store.StartTerm(4);
        var c = d.Create();
        (await c.ActivateAsync(TimeSpan.Zero)).Should().BeTrue();

        restored.Should().BeFalse("the snapshot predates b's term");
        status.Should().Be(StorageStatus.Loading, "a deactivated manager serves again only through ActivateAsync");
        grab.Kind.Should().Be(OutcomeKind.Unavailable);
        Ok(await c.GetLeaseAsync("/z")).Holder.Should().Be("other", "b's grant is not overwritten under a later term's guard");
    }

    [Fact]
    public async Task Writer_CutsBatchesBetweenCommits_AtTheStoresKeyLimit()
    {
        var store = new LimitedStore(maxKeys: 8);
        var d = new DurableManager(store);
        await d.LoadAsync();
        store.Hold();

        // 20 grants queued behind a held write: each is its file record plus the counters record.
        var grants = Enumerable.Range(0, 20).Select(i => d.Manager.AddLeaseAsync($"w{i}", $"/p/{i}", "m").AsTask()).ToList();
        store.Release();
        await Task.WhenAll(grants).DefaultTimeout();

        store.Batches.Should().OnlyContain(keys => keys <= 8, "a batch never exceeds the store's limit");
        store.Batches.Should().Contain(keys => keys > 2, "queued commits are still grouped up to the limit");
        store.Batches.Sum().Should().BeGreaterThanOrEqualTo(20);
        foreach (var grant in grants)
        {
            (await grant).IsOk.Should().BeTrue();
        }
    }

    [Fact]
    public async Task MonitorBatch_StaysWithinTheStoresKeyLimit_SoItIsOneAtomicWrite()
    {
        // etcd: 128 operations per transaction, and the default batch of 128 files plus the
        // counters record is 129. A batch above the limit is written as several transactions,
        // not atomically.
        var store = new LimitedStore(maxKeys: 8);
        var d = new DurableManager(store);
        await d.LoadAsync();
        for (var i = 0; i < 20; i++)
        {
            Ok(await d.Manager.AddLeaseAsync("w", $"/p/{i}", "m"));
            Ok(await d.Manager.AddBlockAsync("w", $"/p/{i}")); // Under construction: recovered with a new recovery id.
        }

        store.Batches.Clear();
        d.Time.Advance(DurableManager.Hard + TimeSpan.FromSeconds(1));
        var pass = await d.Manager.RunMonitorPassAsync(TimeSpan.FromSeconds(10)).DefaultTimeout();

        pass.FilesExpired.Should().Be(20);
        store.Batches.Should().OnlyContain(keys => keys <= 8, "each batch of the monitor is one write of the store");
    }

    /// <summary>A store with a key limit per batch (as etcd's 128 operations per transaction) that records each batch's distinct keys.</summary>
    private sealed class LimitedStore(int maxKeys) : ILeaseStore
    {
        private readonly InMemoryLeaseStore _inner = new();
        private TaskCompletionSource? _gate;

        public List<int> Batches { get; } = [];

        public string Description => "limited test store";

        public int MaxKeysPerBatch => maxKeys;

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

        public IAsyncEnumerable<StoreEntry> ReadAllAsync(CancellationToken cancellationToken = default) => _inner.ReadAllAsync(cancellationToken);

        public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default) => _inner.ReadAsync(key, cancellationToken);

        public async ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref _gate) is { } gate)
            {
                await gate.Task;
            }

            lock (Batches)
            {
                Batches.Add(batch.Select(w => w.Key).Distinct().Count());
            }

            await _inner.WriteAsync(batch, cancellationToken);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
