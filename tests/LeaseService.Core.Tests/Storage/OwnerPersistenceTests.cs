using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;

namespace LeaseService.Core.Tests.Storage;

/// <summary>A holder's owning principal is stored with its files and survives restarts; records without one load ownerless.</summary>
public sealed class OwnerPersistenceTests
{
    [Fact]
    public async Task Owner_AfterRestart_StillOwnsTheHolder()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        (await d.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice")).IsOk.Should().BeTrue();

        await d.RestartAsync();

        (await d.Manager.RenewLeaseAsync("etl", "bob")).Kind.Should().Be(OutcomeKind.PermissionDenied);
        (await d.Manager.RenewLeaseAsync("etl", "alice")).Value.Should().Be(1);
        (await d.Manager.ListLeasesAsync(null, null, 10, null, owner: "alice")).Value!.Leases.Should().ContainSingle();
    }

    [Fact]
    public void FileRecord_WithoutOwner_IsVersionOneAsBefore()
    {
        var gate = new Lock();
        var table = new LeaseTable(gate);
        var file = new FileEntry("/a") { Epoch = 7 };
        lock (gate)
        {
            table.Attach(file, "w", 0, owner: null);
        }

        var bytes = RecordCodec.EncodeFile(file);

        bytes[0].Should().Be(1, "an ownerless record keeps the old layout, so older servers still read it");
        RecordCodec.DecodeFile("/a", bytes).Should().Match<StoredFile>(s => s.Holder == "w" && s.Owner == null && s.Epoch == 7);
    }

    [Fact]
    public void FileRecord_WithOwner_RoundTrips()
    {
        var gate = new Lock();
        var table = new LeaseTable(gate);
        var file = new FileEntry("/a") { Epoch = 7, ClientMachine = "m" };
        lock (gate)
        {
            table.Attach(file, "w", 0, owner: "alice");
        }

        var stored = RecordCodec.DecodeFile("/a", RecordCodec.EncodeFile(file));

        (stored.Holder, stored.ClientMachine, stored.Owner, stored.Epoch).Should().Be(("w", "m", "alice", 7L));
    }
}
