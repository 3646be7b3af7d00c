using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// A point read of a closed file made before the manager's state is replaced (a failover, or a
/// restore after a storage failure) predates everything the new state was loaded from: it is read
/// again, never trusted.
/// </summary>
public sealed class StaleReadTests
{
    [Fact]
    public async Task ReadInFlightAcrossDeactivateAndActivate_FileDeletedByTheOtherReplica_IsNotFound()
    {
        var store = new ControllableStore();
        var d = await DurableManager.ClosedFileOutOfMemoryAsync(store);
        var a = d.Manager;
        store.OnNextRead = async () =>
        {
            // While a's read of /a is in flight: a is deposed, the other replica deletes /a, a is elected again.
            a.Deactivate("deposed");
            var b = d.Create();
            (await b.ActivateAsync(TimeSpan.Zero)).Should().BeTrue();
            Ok(await b.DeleteFileAsync("/a"));
            await b.DisposeAsync();
            (await a.ActivateAsync(TimeSpan.Zero)).Should().BeTrue();
        };

        var get = await a.GetFileAsync("/a");

        get.Kind.Should().Be(OutcomeKind.NotFound, "the other replica deleted /a before this replica served again");
    }

    [Fact]
    public async Task ReadInFlightAcrossARestore_FileDeletedMeanwhile_IsNotFound()
    {
        var store = new ControllableStore();
        var d = await DurableManager.ClosedFileOutOfMemoryAsync(store);
        var m = d.Manager;
        store.OnNextRead = async () =>
        {
            Ok(await m.DeleteFileAsync("/a"));
            Ok(await m.AddLeaseAsync("w", "/x", "m")); // Retires the delete.
            store.FailWith = "I/O error";
            (await m.AddLeaseAsync("w", "/y", "m")).Kind.Should().Be(OutcomeKind.Unavailable);
            store.FailWith = null;
            (await m.TryRestoreStorageAsync()).Should().BeTrue(); // A new state, loaded from the store.
        };

        var get = await m.GetFileAsync("/a");
        var append = await m.AddLeaseAsync("w", "/a", "m");

        get.Kind.Should().Be(OutcomeKind.NotFound, "/a was deleted durably before the read was used");
        Ok(append).Epoch.Should().BeGreaterThan(0, "a new file is created, not the deleted one reopened");
        (await m.GetFileAsync("/a")).Value!.Blocks.Should().BeEmpty();
    }
}
