using LeaseService.Core.Storage;
using LeaseService.Testing;

namespace LeaseService.Core.Tests.Storage;

/// <summary>A manager on a store, and "restarts": a new manager loading the same store.</summary>
internal sealed class DurableManager
{
    public static readonly TimeSpan Soft = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Hard = TimeSpan.FromMinutes(10);

    public DurableManager(ILeaseStore? store = null, TestDataNodes? dataNodes = null)
    {
        Store = store ?? new ControllableStore();
        DataNodes = dataNodes ?? TestDataNodes.Live("dn-1", "dn-2", "dn-3");
        Manager = Create();
    }

    public ILeaseStore Store { get; }

    public TestDataNodes DataNodes { get; }

    public FakeTimeProvider Time { get; } = new();

    public LeaseManager Manager { get; private set; }

    public static LeaseManagerOptions Options => new() { SoftLimit = Soft, HardLimit = Hard, ReplicationFactor = 3 };

    public Task LoadAsync() => Manager.LoadAsync();

    /// <summary>Drops the manager (as a crash would: nothing flushed beyond what was durable) and loads a new one.</summary>
    public async Task RestartAsync()
    {
        await Manager.DisposeAsync();
        Manager = Create();
        await Manager.LoadAsync().DefaultTimeout();
    }

    /// <summary>What the managers <see cref="Create"/> made logged.</summary>
    public CapturingLogger Log { get; } = new();

    public LeaseManager Create() => new(Options, DataNodes, Time, Log, store: Store);

    /// <summary>A loaded manager on <paramref name="store"/> whose closed file /a has left memory (only the open /other stays).</summary>
    public static async Task<DurableManager> ClosedFileOutOfMemoryAsync(ControllableStore store)
    {
        var d = new DurableManager(store);
        await d.LoadAsync();
        RecoveryFixture.Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
        RecoveryFixture.Ok(await d.Manager.RemoveLeaseAsync("w", "/a")).Should().BeTrue();
        RecoveryFixture.Ok(await d.Manager.AddLeaseAsync("w", "/other", "m")); // A later step retires /a.
        d.Manager.GetStatistics().FilesInMemory.Should().Be(1, "/a left memory");
        return d;
    }

    /// <summary>Everything a client can see of the namespace, in a comparable form.</summary>
    public static async Task<string> SnapshotAsync(LeaseManager manager, params string[] paths)
    {
        var lines = new List<string>();
        foreach (var path in paths)
        {
            var file = await manager.GetFileAsync(path);
            lines.Add(file.IsOk
                ? $"{path} open={file.Value!.UnderConstruction} holder={file.Value.Holder} epoch={file.Value.Epoch} length={file.Value.Length} blocks=[{string.Join(";", file.Value.Blocks.Select(b => $"{b.BlockId}@{b.GenerationStamp}/{b.State}/{b.NumBytes}"))}]"
                : $"{path} {file.Kind}");
        }

        var page = await manager.ListLeasesAsync(null, null, 1000, null);
        lines.Add("leases: " + string.Join(",", page.Value!.Leases.Select(l => $"{l.Path}:{l.Holder}:{l.Epoch}:{l.State}")));
        return string.Join("\n", lines);
    }
}
