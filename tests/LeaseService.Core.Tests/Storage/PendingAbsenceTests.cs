using LeaseService.Core.Storage;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// "Not there" is state too: an answer that a path has no lease, is not open, or a holder holds
/// nothing must not go out while the change that made it so is still queued. If that change then
/// fails, the writer still holds the path on disk, and a renewer told NOT_FOUND would have given
/// up a lease it holds.
/// </summary>
public sealed class PendingAbsenceTests
{
    [Fact]
    public async Task AnswersOfAbsence_WaitForAPendingDelete_AndAreUnavailableWhenItFails()
    {
        var (store, d) = await WriterHoldingAAsync();

        store.Hold();
        var delete = d.Manager.DeleteFileAsync("/a").AsTask();
        var getLease = d.Manager.GetLeaseAsync("/a").AsTask();
        var close = d.Manager.RemoveLeaseAsync("writer", "/a").AsTask();
        var addBlock = d.Manager.AddBlockAsync("writer", "/a").AsTask();
        var renew = d.Manager.RenewLeaseAsync("writer").AsTask();
        var list = d.Manager.ListLeasesAsync("writer", null, 0, null).AsTask();

        foreach (var answer in new Task[] { getLease, close, addBlock, renew, list })
        {
            answer.IsCompleted.Should().BeFalse("the delete that took /a away is not durable yet");
        }

        store.FailWith = "disk full";
        store.Release();
        (await delete.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await getLease.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await close.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await addBlock.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await renew.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await list.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);

        store.FailWith = null;
        (await d.Manager.TryRestoreStorageAsync()).Should().BeTrue();
        Ok(await d.Manager.GetLeaseAsync("/a")).Holder.Should().Be("writer", "on disk the writer still holds /a");
        Ok(await d.Manager.RenewLeaseAsync("writer")).Should().Be(1);
    }

    [Fact]
    public async Task AnswersOfAbsence_AfterTheDeleteIsDurable_AreNotFound()
    {
        var (store, d) = await WriterHoldingAAsync();

        store.Hold();
        var delete = d.Manager.DeleteFileAsync("/a").AsTask();
        var renew = d.Manager.RenewLeaseAsync("writer").AsTask();
        var getLease = d.Manager.GetLeaseAsync("/a").AsTask();
        renew.IsCompleted.Should().BeFalse();
        store.Release();

        Ok(await delete.DefaultTimeout());
        (await renew.DefaultTimeout()).Kind.Should().Be(OutcomeKind.NotFound);
        (await getLease.DefaultTimeout()).Kind.Should().Be(OutcomeKind.NotFound);
        Ok(await d.Manager.ListLeasesAsync("writer", null, 0, null)).Leases.Should().BeEmpty();
    }

    [Fact]
    public async Task RenewLease_OfAHolderThatHoldsLeases_AnswersAtOnceWhileWritesAreQueued()
    {
        var (store, d) = await WriterHoldingAAsync();

        store.Hold();
        var queued = d.Manager.AddLeaseAsync("other", "/b", "m").AsTask();
        var renew = d.Manager.RenewLeaseAsync("writer").AsTask();
        var missing = d.Manager.RenewLeaseAsync("nobody").AsTask();

        renew.IsCompleted.Should().BeTrue("a renewal is never persisted and never waits");
        Ok(await renew).Should().Be(1);
        missing.IsCompleted.Should().BeFalse("NotFound waits for the grant queued before it");
        store.Release();
        (await missing.DefaultTimeout()).Kind.Should().Be(OutcomeKind.NotFound);
        Ok(await queued.DefaultTimeout());
    }

    [Fact]
    public async Task FenceOfABlockWhoseFileDeleteIsQueued_WaitsForTheDelete_AndIsUnavailableWhenItFails()
    {
        var (store, d) = await WriterHoldingAAsync();
        var added = Ok(await d.Manager.AddBlockAsync("writer", "/a"));

        store.Hold();
        var delete = d.Manager.DeleteFileAsync("/a").AsTask();
        var check = d.Manager.CheckWriteAsync(added.Block.BlockId, added.Block.GenerationStamp, added.Epoch, hasData: true).AsTask();
        check.IsCompleted.Should().BeFalse("\"fenced\" names a delete that is not durable yet");

        store.FailWith = "disk full";
        store.Release();
        (await delete.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await check.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        store.FailWith = null;
        (await d.Manager.TryRestoreStorageAsync()).Should().BeTrue();
        Ok(await d.Manager.CheckWriteAsync(added.Block.BlockId, added.Block.GenerationStamp, added.Epoch, hasData: true));
    }

    [Fact]
    public async Task FenceOfABlockWhoseFileDeleteIsDurable_Aborted()
    {
        var (store, d) = await WriterHoldingAAsync();
        var added = Ok(await d.Manager.AddBlockAsync("writer", "/a"));
        Ok(await d.Manager.DeleteFileAsync("/a"));

        (await d.Manager.CheckWriteAsync(added.Block.BlockId, added.Block.GenerationStamp, added.Epoch, hasData: true)).Kind.Should().Be(OutcomeKind.Aborted);
    }

    [Fact]
    public async Task RefusalsByOwner_WaitForTheOwnersQueuedGrant_AndAreUnavailableWhenItFails()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();

        store.Hold();
        var alice = d.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice").AsTask();
        var bobOpens = d.Manager.AddLeaseAsync("etl", "/b", "m", principal: "bob").AsTask();
        var bobRenews = d.Manager.RenewLeaseAsync("etl", "bob").AsTask();
        var bobCloses = d.Manager.RemoveLeaseAsync("etl", "/a", "bob").AsTask();
        var bobRecovers = d.Manager.RecoverLeaseAsync("/a", "etl", false, "bob").AsTask();
        foreach (var answer in new Task[] { bobOpens, bobRenews, bobCloses, bobRecovers })
        {
            answer.IsCompleted.Should().BeFalse("\"belongs to another principal\" names alice's grant, not durable yet");
        }

        store.FailWith = "disk full";
        store.Release();
        (await alice.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await bobOpens.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await bobRenews.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await bobCloses.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);
        (await bobRecovers.DefaultTimeout()).Kind.Should().Be(OutcomeKind.Unavailable);

        store.FailWith = null;
        (await d.Manager.TryRestoreStorageAsync()).Should().BeTrue();
        Ok(await d.Manager.AddLeaseAsync("etl", "/b", "m", principal: "bob")).Holder.Should().Be("etl", "on disk etl belongs to no one");
        (await d.Manager.RenewLeaseAsync("etl", "alice")).Kind.Should().Be(OutcomeKind.PermissionDenied, "now bob's grant is durable");
    }

    /// <summary>A durable manager on a store the test controls, "writer" holding /a.</summary>
    private static async Task<(ControllableStore Store, DurableManager Durable)> WriterHoldingAAsync()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("writer", "/a", "m"));
        return (store, d);
    }
}
