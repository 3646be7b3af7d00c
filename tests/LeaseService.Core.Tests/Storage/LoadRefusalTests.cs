using LeaseService.Core.Storage;

namespace LeaseService.Core.Tests.Storage;

/// <summary>Never start empty over data that cannot be read.</summary>
public sealed class LoadRefusalTests
{
    [Fact]
    public async Task Load_FutureFormatVersion_IsRefusedNamingTheStoreAndVersion()
    {
        var store = new ControllableStore();
        await store.WriteAsync([new StoreWrite("meta/format", [2, 0, 0, 0])]);

        var load = () => new DurableManager(store).LoadAsync();

        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain("test store").And.Contain("format version 2 is newer");
    }

    [Fact]
    public async Task Load_FutureFormatVersion_WithRecordsInItsNewerEncoding_IsRefusedAsNewer_NotAsCorrupt()
    {
        // Records sort before meta/format (file/…, meta/counters): the version must be read first.
        var store = new ControllableStore();
        await store.WriteAsync(
        [
            new StoreWrite("meta/format", [2, 0, 0, 0]),
            new StoreWrite("meta/counters", [2, .. new byte[24]]),
            new StoreWrite("file//a", [3, 1, (byte)'w', 0]),
        ]);

        var load = () => new DurableManager(store).LoadAsync();

        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain("format version 2 is newer").And.NotContain("corrupt");
    }

    [Fact]
    public async Task Load_CorruptFileRecord_IsRefused()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        (await d.Manager.AddLeaseAsync("w", "/a", "m")).IsOk.Should().BeTrue();
        await d.Store.WriteAsync([new StoreWrite("file//a", [1, 5, 0xFF])]);

        var load = () => d.Create().LoadAsync();

        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain("corrupt record");
    }

    [Fact]
    public async Task Load_NewStoreWhoseFirstWriteFails_IsRefusedAsAStoreItCannotUse()
    {
        var store = new ControllableStore { FailWith = "No space left on device" };

        var load = () => new DurableManager(store).LoadAsync();

        // The host turns a LeaseStoreException into one line and exit code 2; anything else is a crash.
        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain("test store").And.Contain("No space left on device");
    }

    [Fact]
    public async Task Load_DataWithoutFormatVersion_IsRefused()
    {
        var store = new ControllableStore();
        await store.WriteAsync([new StoreWrite("something/else", [1])]);

        var load = () => new DurableManager(store).LoadAsync();

        (await load.Should().ThrowAsync<LeaseStoreException>()).Which.Message.Should().Contain("without a format version");
    }
}
