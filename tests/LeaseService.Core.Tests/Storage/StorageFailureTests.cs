using LeaseService.Core.DataNodes;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>Failed writes: the caller hears it, nothing is served until memory and disk agree again.</summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task AddLease_WhenTheWriteFails_IsUnavailableAndNothingIsServedUntilTheStoreWorks()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/kept", "m"));
        var changes = new List<StorageStatus>();
        d.Manager.StorageStatusChanged += changes.Add;

        store.FailWith = "disk full";
        var failed = await d.Manager.AddLeaseAsync("writer", "/lost", "m");

        failed.Kind.Should().Be(OutcomeKind.Unavailable);
        failed.Message.Should().Be("storage unavailable: disk full");
        d.Manager.StorageStatus.Should().Be(StorageStatus.Failed);
        changes.Should().Equal(StorageStatus.Failed);
        (await d.Manager.GetLeaseAsync("/lost")).Message.Should().StartWith("storage unavailable", "unsynced state is never shown");
        (await d.Manager.GetLeaseAsync("/kept")).Kind.Should().Be(OutcomeKind.Unavailable);
        (await d.Manager.RenewLeaseAsync("writer")).Kind.Should().Be(OutcomeKind.Unavailable);
        (await d.Manager.TryRestoreStorageAsync()).Should().BeFalse("the store still fails");
    }

    [Fact]
    public async Task RecoveryResult_WhileTheStoreFails_IsLoggedAsWaitingForTheStore_NotAsStale()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        d.DataNodes.Recover = _ => new TaskCompletionSource<BlockRecoveryResult>().Task; // Answered by hand below.
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/a", "m"));
        var block = Ok(await d.Manager.AddBlockAsync("writer", "/a"));
        var recovery = Ok(await d.Manager.RecoverLeaseAsync("/a", "ops", force: true)).Lease!.RecoveryId;
        store.FailWith = "I/O error";
        (await d.Manager.AddLeaseAsync("writer", "/b", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
        d.Log.Clear();

        await d.Manager.ApplyRecoveryResultAsync(new BlockRecoveryCommitted(block.Block.BlockId, recovery, 7, ["dn-1"], false), "/a");

        d.Log.Ids().Should().Equal([1016], "the current attempt's result, refused because the store fails: not a stale or duplicate one (1013)");
        d.Log.Entries[0].Message.Should().Contain("/a").And.Contain("storage unavailable: I/O error").And.Contain("resumes");
        store.FailWith = null;
        (await d.Manager.TryRestoreStorageAsync()).Should().BeTrue();
        Ok(await d.Manager.GetLeaseAsync("/a")).RecoveryId.Should().BeGreaterThan(recovery, "the restore resumes the recovery with a new id, as logged");
    }

    [Fact]
    public async Task Restore_AfterTheStoreWorksAgain_ServesExactlyWhatIsOnDisk()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        var kept = Ok(await d.Manager.AddLeaseAsync("writer", "/kept", "m"));
        store.FailWith = "I/O error";
        (await d.Manager.AddLeaseAsync("writer", "/lost", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
        (await d.Manager.AddLeaseAsync("other", "/kept", "m")).Kind.Should().Be(OutcomeKind.Unavailable);

        store.FailWith = null;
        (await d.Manager.TryRestoreStorageAsync()).Should().BeTrue();

        d.Manager.StorageStatus.Should().Be(StorageStatus.Healthy);
        (await d.Manager.GetFileAsync("/lost")).Kind.Should().Be(OutcomeKind.NotFound, "the failed grant was never durable, so it is gone");
        var memory = await DurableManager.SnapshotAsync(d.Manager, "/kept", "/lost");
        var fresh = d.Create();
        await fresh.LoadAsync();
        var disk = await DurableManager.SnapshotAsync(fresh, "/kept", "/lost");
        memory.Should().Be(disk, "memory and disk agree after the failure");
        Ok(await d.Manager.GetLeaseAsync("/kept")).Epoch.Should().Be(kept.Epoch);
        var next = Ok(await d.Manager.AddLeaseAsync("writer", "/new", "m"));
        next.Epoch.Should().BeGreaterThan(kept.Epoch);
    }

    [Fact]
    public async Task Reply_WaitsUntilItsRecordIsDurable_AndSoDoesAReadOfThatState()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        store.Hold();

        var add = d.Manager.AddLeaseAsync("writer", "/a", "m").AsTask();
        var read = d.Manager.GetLeaseAsync("/a").AsTask();
        var otherPath = await d.Manager.GetLeaseAsync("/unrelated");

        add.IsCompleted.Should().BeFalse("the grant is not durable yet");
        read.IsCompleted.Should().BeFalse("a read of the granted path must not show an epoch before it is durable");
        otherPath.Kind.Should().Be(OutcomeKind.NotFound, "reads of other state answer at once");
        store.Release();
        var granted = Ok(await add.DefaultTimeout());
        Ok(await read.DefaultTimeout()).Epoch.Should().Be(granted.Epoch);
    }

    [Fact]
    public async Task ConcurrentGrants_ShareSyncedBatches()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        var writesBefore = store.Writes;
        store.Hold();
        var first = d.Manager.AddLeaseAsync("w0", "/p/0", "m").AsTask();
        var rest = Enumerable.Range(1, 99).Select(i => d.Manager.AddLeaseAsync($"w{i}", $"/p/{i}", "m").AsTask()).ToList();

        store.Release();
        await first.DefaultTimeout();
        await Task.WhenAll(rest).DefaultTimeout();

        rest.Should().OnlyContain(t => t.Result.IsOk);
        (store.Writes - writesBefore).Should().BeLessThan(100, "commits queued while a write runs go in one batch");
    }

    [Fact]
    public async Task ABatch_WritesEachKeyOnce_WithItsLastValue()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        store.Hold();
        var grants = Enumerable.Range(0, 100).Select(i => d.Manager.AddLeaseAsync($"w{i}", $"/p/{i}", "m").AsTask()).ToList();

        store.Release();
        await Task.WhenAll(grants).DefaultTimeout();

        store.WrittenKeys.Should().Contain(keys => keys.Length > 2, "grants queued behind the held write share a batch");
        store.WrittenKeys.Should().OnlyContain(keys => keys.Distinct().Count() == keys.Length, "every grant rewrites the counters record, and a batch writes it once");
        var counters = RecordCodec.DecodeCounters(await store.ReadAsync(RecordCodec.CountersKey));
        counters.GenerationStamp.Should().Be(grants.Max(g => Ok(g.Result).Epoch), "the batch kept the last value of the counters record");
        await d.RestartAsync();
        for (var i = 0; i < 100; i++)
        {
            Ok(await d.Manager.GetLeaseAsync($"/p/{i}")).Holder.Should().Be($"w{i}");
        }
    }
}
