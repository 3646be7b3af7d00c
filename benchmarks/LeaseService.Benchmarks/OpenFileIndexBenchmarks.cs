using BenchmarkDotNet.Attributes;
using LeaseService.Core.Internal;

namespace LeaseService.Benchmarks;

/// <summary>
/// The open-file treap alone (what every new open file pays twice: the service-wide index and
/// its holder's): insert one new path into an index of 1,000,000 open files and remove it again.
/// </summary>
[MemoryDiagnoser]
public class OpenFileIndexBenchmarks
{
    private OpenFileIndex _index = null!;
    private FileEntry[] _fresh = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _index = new OpenFileIndex(perHolder: false);
        for (var i = 0; i < 1_000_000; i++)
        {
            _index.Add(new FileEntry($"/warehouse/part-{i % 1000:D4}/file-{i:D8}.parquet"));
        }

        // Paths that interleave with the indexed ones, so each insert descends the whole tree.
        _fresh = new FileEntry[4096];
        for (var i = 0; i < _fresh.Length; i++)
        {
            _fresh[i] = new FileEntry($"/warehouse/part-{i * 241 % 1000:D4}/file-{i * 244:D8}.parquet.tmp");
        }
    }

    [Benchmark]
    public int InsertThenRemove_1MOpenFiles()
    {
        var file = _fresh[_next++ % _fresh.Length];
        _index.Add(file);
        _index.Remove(file);
        return _index.Count == 1_000_000 ? _index.Count : throw new InvalidOperationException($"{_index.Count} files indexed");
    }
}
