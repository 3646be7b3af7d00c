using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>
/// Meter <see cref="MeterName"/>: <c>rpc.server.call.duration</c> tagged <c>rpc.service</c>,
/// <c>rpc.method</c> and <c>rpc.grpc.status_code</c> (the status name). Its count is the number
/// of calls, so there is no separate call counter (one instrument a call, not two).
/// </summary>
internal sealed class CallInstruments
{
    /// <summary>The meter of the per-call instruments.</summary>
    public const string MeterName = "LeaseService.Rpc";

    /// <summary>Call duration buckets in seconds: 100 µs to 10 s.</summary>
    private static readonly double[] DurationBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<string, MethodTags> _methods = new(StringComparer.Ordinal);

    public CallInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _duration = meter.CreateHistogram(
            "rpc.server.call.duration",
            unit: "s",
            description: "Duration of gRPC calls, by service, method and status.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBounds });
    }

    public void Record(string fullMethod, StatusCode status, double seconds)
    {
        var method = MethodTags.Of(fullMethod, _methods);
        var tags = new TagList
        {
            { "rpc.service", method.Service },
            { "rpc.method", method.Method },
            { "rpc.grpc.status_code", StatusNames.Of(status) },
        };
        _duration.Record(seconds, tags);
    }

    /// <summary>
    /// A method's service and method tag values, split once per method and kept (at most
    /// <see cref="MaxCachedMethods"/>; past that they are split per call), so a call allocates no
    /// string for its tags.
    /// </summary>
    private sealed record MethodTags(string Service, string Method)
    {
        public const int MaxCachedMethods = 256;

        public static MethodTags Of(string fullMethod, ConcurrentDictionary<string, MethodTags> cache)
        {
            if (cache.TryGetValue(fullMethod, out var tags))
            {
                return tags;
            }

            // "/leases.v1.LeaseService/RenewLease" → service, method.
            var slash = fullMethod.LastIndexOf('/');
            tags = new MethodTags(slash > 0 ? fullMethod[1..slash] : fullMethod, fullMethod[(slash + 1)..]);
            return cache.Count < MaxCachedMethods ? cache.GetOrAdd(fullMethod, tags) : tags;
        }
    }

    /// <summary>Status names made once, so a call allocates no string for its tag.</summary>
    private static class StatusNames
    {
        private static readonly Dictionary<StatusCode, string> Names = Enum.GetValues<StatusCode>().ToDictionary(s => s, s => s.ToString());

        public static string Of(StatusCode status) => Names.TryGetValue(status, out var name) ? name : status.ToString();
    }
}
