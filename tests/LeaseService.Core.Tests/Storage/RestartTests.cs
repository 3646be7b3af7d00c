using LeaseService.Core.DataNodes;
using LeaseService.Core.Storage;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>Restart semantics: what a manager loading the store of an earlier one serves.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Call_BeforeLoading_IsUnavailable()
    {
        var d = new DurableManager();

        var add = await d.Manager.AddLeaseAsync("w", "/a", "m");
        var renew = await d.Manager.RenewLeaseAsync("w");

        add.Kind.Should().Be(OutcomeKind.Unavailable);
        renew.Kind.Should().Be(OutcomeKind.Unavailable, "a holder must not hear NOT_FOUND (lease lost) before the state is loaded");
        d.Manager.StorageStatus.Should().Be(StorageStatus.Loading);
    }

    [Fact]
    public async Task OpenFile_AfterRestart_HasItsHolderEpochAndAFullSoftAndHardLimit()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        var lease = Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        d.Time.Advance(TimeSpan.FromSeconds(59));

        await d.RestartAsync();

        var restored = Ok(await d.Manager.GetLeaseAsync("/logs/a"));
        restored.Holder.Should().Be("writer");
        restored.ClientMachine.Should().Be("host-a");
        restored.Epoch.Should().Be(lease.Epoch);
        restored.SoftLimitRemaining.Should().Be(DurableManager.Soft, "every restored lease counts as renewed when serving starts");
        restored.HardLimitRemaining.Should().Be(DurableManager.Hard);
        (await d.Manager.RenewLeaseAsync("writer")).Value.Should().Be(1);
    }

    [Fact]
    public async Task Takeover_AfterRestart_WaitsAFullSoftLimitFromTheRestart()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        d.Time.Advance(TimeSpan.FromMinutes(5)); // Long past the soft limit before the crash.

        await d.RestartAsync();
        d.Time.Advance(DurableManager.Soft);
        var early = await d.Manager.AddLeaseAsync("other", "/logs/a", "host-b");
        d.Time.Advance(TimeSpan.FromTicks(1));
        var late = await d.Manager.AddLeaseAsync("other", "/logs/a", "host-b");

        early.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        Ok(late).Holder.Should().Be("other");
    }

    [Fact]
    public async Task RecoverLeaseWithoutForce_AfterRestart_WaitsAFullSoftLimitFromTheRestart()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        d.Time.Advance(TimeSpan.FromMinutes(5));

        await d.RestartAsync();
        d.Time.Advance(DurableManager.Soft);
        var early = await d.Manager.RecoverLeaseAsync("/logs/a", "other", force: false);
        d.Time.Advance(TimeSpan.FromTicks(1));
        var late = await d.Manager.RecoverLeaseAsync("/logs/a", "other", force: false);

        early.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        Ok(late).Closed.Should().BeTrue();
    }

    [Fact]
    public async Task Monitor_AfterRestart_RecoversOnlyAfterAFullHardLimit()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        d.Time.Advance(DurableManager.Hard - TimeSpan.FromSeconds(1));

        await d.RestartAsync();
        d.Time.Advance(DurableManager.Hard);
        (await d.Manager.RunMonitorPassAsync(TimeSpan.FromSeconds(1))).LeasesExamined.Should().Be(0);
        d.Time.Advance(TimeSpan.FromTicks(1));
        (await d.Manager.RunMonitorPassAsync(TimeSpan.FromSeconds(1))).FilesClosed.Should().Be(1);
    }

    [Fact]
    public async Task ClosedFile_AfterRestart_StaysClosedWithItsBlocksAndAcceptsAppend()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        var block = Ok(await d.Manager.AddBlockAsync("writer", "/logs/a"));
        Finalize(d, block.Block, 42);
        Ok(await d.Manager.RemoveLeaseAsync("writer", "/logs/a")).Should().BeTrue();
        var before = Ok(await d.Manager.GetFileAsync("/logs/a"));

        await d.RestartAsync();

        var after = Ok(await d.Manager.GetFileAsync("/logs/a"));
        after.Should().BeEquivalentTo(before);
        after.UnderConstruction.Should().BeFalse();
        after.Length.Should().Be(42);
        (await d.Manager.GetLeaseAsync("/logs/a")).Kind.Should().Be(OutcomeKind.NotFound);
        var append = Ok(await d.Manager.AddLeaseAsync("appender", "/logs/a", "host-b"));
        append.Epoch.Should().BeGreaterThan(before.Epoch);
        var next = Ok(await d.Manager.AddBlockAsync("appender", "/logs/a"));
        next.Block.BlockId.Should().BeGreaterThan(block.Block.BlockId, "block ids continue above every id issued before");
        next.Block.GenerationStamp.Should().BeGreaterThan(append.Epoch);
    }

    [Fact]
    public async Task BlockUnderConstruction_AfterRestart_IsTheSameBlockAndTheSameAnswerOnRetry()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        var block = Ok(await d.Manager.AddBlockAsync("writer", "/logs/a"));

        await d.RestartAsync();

        var retry = Ok(await d.Manager.AddBlockAsync("writer", "/logs/a"));
        retry.Should().BeEquivalentTo(block, "a retried AddBlock whose answer was lost in the crash gets the same block (HDFS-3031)");
        Ok(await d.Manager.CheckWriteAsync(block.Block.BlockId, block.Block.GenerationStamp, block.Epoch, hasData: true));
    }

    [Fact]
    public async Task RecoveryInFlight_AfterRestart_ResumesWithANewRecoveryIdOnTheRecoveryHolder()
    {
        var d = new DurableManager();
        var sent = new SemaphoreSlim(0);
        d.DataNodes.Recover = _ =>
        {
            sent.Release();
            return new TaskCompletionSource<BlockRecoveryResult>().Task; // The primary never answers: in flight at the crash.
        };
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/logs/a", "host-a"));
        var block = Ok(await d.Manager.AddBlockAsync("writer", "/logs/a"));
        var recover = Ok(await d.Manager.RecoverLeaseAsync("/logs/a", "ops", force: true));
        recover.Closed.Should().BeFalse();
        var firstId = recover.Lease!.RecoveryId;
        await sent.WaitAsync().DefaultTimeout();

        await d.RestartAsync();

        var lease = Ok(await d.Manager.GetLeaseAsync("/logs/a"));
        lease.Holder.Should().Be("ops", "the reassignment to the recovery holder survives");
        lease.State.Should().Be(LeaseState.Recovering);
        lease.RecoveryId.Should().BeGreaterThan(firstId, "the resumed attempt has a new recovery id");
        lease.Epoch.Should().Be(lease.RecoveryId);
        await sent.WaitAsync().DefaultTimeout();
        d.DataNodes.Commands.Should().HaveCount(2);
        d.DataNodes.Commands[1].RecoveryId.Should().Be(lease.RecoveryId);

        d.Manager.ApplyRecoveryResult(new BlockRecoveryCommitted(block.Block.BlockId, lease.RecoveryId, 7, ["dn-1"], false), "/logs/a");
        var file = Ok(await d.Manager.GetFileAsync("/logs/a"));
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(7);

        await d.RestartAsync();
        Ok(await d.Manager.GetFileAsync("/logs/a")).Should().BeEquivalentTo(file, "the recovery result is durable too");
    }

    [Fact]
    public async Task Load_EmptyStore_WritesTheFormatVersion()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);

        await d.LoadAsync();

        var entries = await store.ReadAllAsync().ToListAsync();
        entries.Select(e => e.Key).Should().Contain("meta/format");
        d.Manager.StorageStatus.Should().Be(StorageStatus.Healthy);
    }

    private static void Finalize(DurableManager d, BlockView block, long bytes)
        => d.DataNodes.Replicas[block.BlockId] = [.. block.Locations.Select(id => new ReplicaReport(id, block.BlockId, ReplicaState.Finalized, bytes, block.GenerationStamp))];
}
