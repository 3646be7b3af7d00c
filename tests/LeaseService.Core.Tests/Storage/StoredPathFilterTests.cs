using System.Text;
using LeaseService.Core.Internal;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// Opening a path the store never held needs no read from it (on etcd a linearizable read per
/// AddLease): the namespace keeps a filter of the paths the store may hold outside memory. It
/// never rules out a stored path, so closed files are still found, after a restart too.
/// </summary>
public sealed class StoredPathFilterTests
{
    [Fact]
    public void Filter_NeverRulesOutAnAddedPath_AcrossGrowth_AndRarelyAdmitsOthers()
    {
        var filter = new StoredPathFilter(capacity: 1024);
        var initialBytes = filter.Bytes;
        for (var i = 0; i < 50_000; i++)
        {
            var path = $"/data/part-{i}/file-ü{i}.parquet";
            if (i % 2 == 0)
            {
                filter.Add(path);
            }
            else
            {
                filter.Add(Encoding.UTF8.GetBytes(path));
            }
        }

        var missed = Enumerable.Range(0, 50_000).Count(i => !filter.MightContain($"/data/part-{i}/file-ü{i}.parquet"));
        var admitted = Enumerable.Range(0, 50_000).Count(i => filter.MightContain($"/other/part-{i}/file-ü{i}.parquet"));

        missed.Should().Be(0, "a Bloom filter has no false negatives, whichever form the path was added in");
        admitted.Should().BeLessThan(50_000 * 5 / 100, "about 1% per layer are false positives");
        filter.Bytes.Should().BeGreaterThan(initialBytes, "layers were added as the first filled");
    }

    [Fact]
    public async Task AddLease_OfANewPath_ReadsNothingFromTheStore()
    {
        var store = new ControllableStore();
        var d = new DurableManager(store);
        await d.LoadAsync();
        var reads = store.PointReads; // The load reads the format version.

        for (var i = 0; i < 100; i++)
        {
            Ok(await d.Manager.AddLeaseAsync("w", $"/new/{i}", "m"));
        }

        store.PointReads.Should().Be(reads);
    }

    [Fact]
    public async Task ClosedFile_OutOfMemory_IsReadAndFound_BeforeAndAfterARestart_AndANewPathStillNeedsNoRead()
    {
        var store = new ControllableStore();
        var d = await DurableManager.ClosedFileOutOfMemoryAsync(store);

        var reads = store.PointReads;
        Ok(await d.Manager.GetFileAsync("/a")).UnderConstruction.Should().BeFalse();
        store.PointReads.Should().Be(reads + 1, "/a is only in the store");

        await d.RestartAsync();
        reads = store.PointReads;
        Ok(await d.Manager.GetFileAsync("/a")).UnderConstruction.Should().BeFalse();
        store.PointReads.Should().Be(reads + 1, "the load put the closed /a in the filter");
        var reopened = Ok(await d.Manager.AddLeaseAsync("w2", "/a", "m"));
        reopened.Holder.Should().Be("w2");
        (await d.Manager.GetFileAsync("/never")).Kind.Should().Be(OutcomeKind.NotFound);
        Ok(await d.Manager.AddLeaseAsync("w2", "/new", "m"));
        store.PointReads.Should().Be(reads + 2, "only /a was read: twice (GetFile, AddLease); /never and /new were ruled out");
    }

    [Fact]
    public async Task DeletedFile_StaysDeleted_ThoughTheFilterMayStillAdmitItsPath()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("w", "/a", "m"));
        Ok(await d.Manager.RemoveLeaseAsync("w", "/a")).Should().BeTrue();
        Ok(await d.Manager.AddLeaseAsync("w", "/x", "m")); // Retires /a: into the filter.
        Ok(await d.Manager.DeleteFileAsync("/a"));
        Ok(await d.Manager.AddLeaseAsync("w", "/y", "m")); // Retires the delete.

        (await d.Manager.GetFileAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound);
        await d.RestartAsync();
        (await d.Manager.GetFileAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public void NoRead_ThenThePathLeavesMemoryBeforeTheStep_IsStale_NotMissing()
    {
        // A caller found no read needed (the store held no record), then, before its locked step,
        // another call created the path, closed it and it left memory: the store holds it now.
        var gate = new Lock();
        var files = new FileNamespace(gate);
        lock (gate)
        {
            files.NeedsStoreRead("/p").Should().BeFalse();
            var file = new FileEntry("/p");
            files.Create(file);
            files.Closed(file, sequence: 1);
            files.Retire(durable: 1);
            files.TryGetFile("/p", out _).Should().BeFalse("it left memory");

            files.ResolveLocked("/p", read: null, out _).Should().Be(Resolution.Stale, "it must be read, not taken as missing");
            files.ResolveLocked("/q", read: null, out _).Should().Be(Resolution.Missing);
        }
    }
}
