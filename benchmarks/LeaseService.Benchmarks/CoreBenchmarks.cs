using BenchmarkDotNet.Attributes;
using LeaseService.Core;

namespace LeaseService.Benchmarks;

/// <summary>The lease manager's hot operations. Each benchmark checks its own result.</summary>
[MemoryDiagnoser]
public class CoreBenchmarks
{
    private LeaseManager _renewManager = null!;
    private string[] _holders = null!;
    private int _next;
    private LeaseManager _monitorManager = null!;
    private LeaseManager _addRemoveManager = null!;
    private string[] _paths = null!;

    [GlobalSetup]
    public void Setup()
    {
        _holders = Workload.Holders(100_000);
        _renewManager = Workload.Create();
        Workload.Fill(_renewManager, _holders, 100_000);

        // 1,000,000 leases (one holder each), none expired.
        _monitorManager = Workload.Create();
        Workload.Fill(_monitorManager, Workload.Holders(1_000_000), 1_000_000);

        _addRemoveManager = Workload.Create();
        Workload.Fill(_addRemoveManager, _holders, 100_000);
        _paths = new string[1024];
        for (var i = 0; i < _paths.Length; i++)
        {
            _paths[i] = $"/bench/add-remove/{i:D4}";
        }
    }

    /// <summary>RenewLease of one holder among 100,000.</summary>
    [Benchmark]
    public int RenewLease_100kHolders()
    {
        var holder = _holders[_next++ % _holders.Length];
        var renewal = _renewManager.RenewLeaseAsync(holder); // Completes at once: the holder holds leases.
        return renewal.IsCompletedSuccessfully && renewal.Result is { IsOk: true } outcome ? outcome.Value : throw new InvalidOperationException("the renewal did not answer at once with OK");
    }

    /// <summary>
    /// Open a path (new holder lease) and close it again, with 100,000 other leases held. Both
    /// persist (in-memory store): each waits for its group commit.
    /// </summary>
    [Benchmark]
    public async Task<bool> AddThenRemove()
    {
        var i = _next++;
        var holder = _holders[i % _holders.Length];
        var path = _paths[i % _paths.Length];
        var added = await _addRemoveManager.AddLeaseAsync(holder, path, "m");
        if (!added.IsOk)
        {
            throw new InvalidOperationException(added.ToString());
        }

        var removed = await _addRemoveManager.RemoveLeaseAsync(holder, path);
        return removed.IsOk && removed.Value ? true : throw new InvalidOperationException(removed.ToString());
    }

    /// <summary>A monitor pass over 1,000,000 leases none of which has expired.</summary>
    [Benchmark]
    public async Task<int> MonitorPass_1MLeasesNoneExpired()
    {
        var result = await _monitorManager.RunMonitorPassAsync(TimeSpan.FromMilliseconds(25));
        return result.LeasesExamined == 0 ? result.LeasesExamined : throw new InvalidOperationException("Something expired.");
    }
}
