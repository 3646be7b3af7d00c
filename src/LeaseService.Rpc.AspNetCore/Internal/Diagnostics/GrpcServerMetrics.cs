using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LeaseService.Rpc.AspNetCore.Internal.Diagnostics;

/// <summary>
/// The wire server's instruments, recorded once per call where its status is decided:
/// <c>rpc.server.calls</c> (counter) and <c>rpc.server.call.duration</c> (histogram, seconds),
/// both tagged <c>service</c>, <c>method</c> and <c>status</c> (the status code's name, e.g.
/// <c>NotFound</c>). Tags are strings made at start-up, so recording allocates nothing.
/// </summary>
internal sealed class GrpcServerMetrics
{
    /// <summary>Bucket bounds in seconds: 100 µs to 10 s, about three per decade.</summary>
    internal static readonly double[] DurationBounds =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private static readonly string[] StatusNames = CreateStatusNames();

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;

    public GrpcServerMetrics(Meter meter)
    {
        _calls = meter.CreateCounter<long>("rpc.server.calls", "{call}", "gRPC calls the server finished, by service, method and status.");
        _duration = meter.CreateHistogram<double>(
            "rpc.server.call.duration",
            unit: "s",
            description: "Time from the request headers to the call's status, by service, method and status.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBounds });
    }

    /// <summary>True when anything listens; callers skip measuring time otherwise.</summary>
    public bool Enabled => _calls.Enabled || _duration.Enabled;

    public void Record(MethodLabels labels, StatusCode status, double seconds)
    {
        var tags = new TagList
        {
            { "service", labels.Service },
            { "method", labels.Method },
            { "status", StatusName(status) },
        };
        _calls.Add(1, tags);
        _duration.Record(seconds, tags);
    }

    internal static string StatusName(StatusCode status)
        => (uint)status < (uint)StatusNames.Length ? StatusNames[(int)status] : ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string[] CreateStatusNames()
    {
        var names = new string[17];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = ((StatusCode)i).ToString();
        }

        return names;
    }
}

/// <summary>The <c>service</c> and <c>method</c> tags of one registered method, made once at start-up.</summary>
internal sealed class MethodLabels
{
    /// <summary>For paths no method is registered at: never the raw path, which the client chooses.</summary>
    public static readonly MethodLabels Unknown = new("(unknown)", "(unknown)");

    private MethodLabels(string service, string method)
    {
        Service = service;
        Method = method;
    }

    public string Service { get; }

    public string Method { get; }

    /// <summary>Splits <c>/package.Service/Method</c>.</summary>
    public static MethodLabels FromPath(string path)
    {
        var trimmed = path.TrimStart('/');
        var slash = trimmed.LastIndexOf('/');
        return slash < 0 ? new MethodLabels(string.Empty, trimmed) : new MethodLabels(trimmed[..slash], trimmed[(slash + 1)..]);
    }
}
