using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace LeaseService.Benchmarks;

/// <summary>
/// The runtime's allocation sampling in process: every GCAllocationTick event (about one per
/// 100 KB allocated on a thread) charges its 100 KB to the type whose allocation crossed the
/// threshold, so over many calls the shares approach each type's share of the bytes allocated.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _enabled;

    public void Start() => _enabled = true;

    public void Stop() => _enabled = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_enabled || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null)
        {
            return;
        }

        var names = e.PayloadNames ?? [];
        var type = names.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a]) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Print(long calls, int top)
    {
        var total = _bytes.Values.Sum();
        Console.WriteLine($"allocation samples: {total / (double)calls:F0} bytes per call sampled");
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine($"  {bytes / (double)calls,8:F1} B/call  {100.0 * bytes / total,5:F1}%  {type}");
        }
    }
}
