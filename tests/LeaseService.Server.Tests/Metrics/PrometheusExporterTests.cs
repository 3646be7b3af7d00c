using System.Diagnostics;
using System.Diagnostics.Metrics;
using LeaseService.Server.Metrics;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Server.Tests.Metrics;

/// <summary>The text format the exporter renders, instrument by instrument, on a meter of its own scope.</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private const string MeterName = "Test.Exporter";

    private readonly object _scope = new();
    private readonly Meter _meter;
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests()
    {
        _meter = new Meter(new MeterOptions(MeterName) { Scope = _scope });
        _exporter = new PrometheusExporter(_scope, [MeterName], [], NullLogger.Instance);
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public void Counter_SumsMeasurements_WithHelpTypeAndTotalSuffix()
    {
        var counter = _meter.CreateCounter<long>("test.requests", "{request}", "Requests served.");
        counter.Add(2);
        counter.Add(3);

        Lines().Should().ContainInOrder(
            "# HELP test_requests_total Requests served.",
            "# TYPE test_requests_total counter",
            "test_requests_total 5");
    }

    [Fact]
    public void Counter_NothingRecordedYet_IsZero()
    {
        _meter.CreateCounter<long>("test.overruns", "{pass}");

        Lines().Should().Contain("test_overruns_total 0");
    }

    [Fact]
    public void ObservableGauge_ReadAtScrape_WithUnitSuffix()
    {
        var value = 1.5;
        _meter.CreateObservableGauge("test.age", () => value, "s", "Age.");

        Lines().Should().ContainInOrder("# TYPE test_age_seconds gauge", "test_age_seconds 1.5");
        value = 4;
        Lines().Should().Contain("test_age_seconds 4");
    }

    [Fact]
    public void ObservableCounter_ReportsTheObservedTotal_NotASum()
    {
        long total = 7;
        _meter.CreateObservableCounter("test.grants", () => total, "{grant}");

        Lines().Should().Contain("test_grants_total 7");
        total = 9;
        Lines().Should().Contain("test_grants_total 9");
    }

    [Fact]
    public void ObservableSeries_NotReportedAgain_IsLeftOut()
    {
        var tagged = true;
        _meter.CreateObservableUpDownCounter("test.items", () => tagged
            ? [new Measurement<int>(1, new KeyValuePair<string, object?>("kind", "a")), new Measurement<int>(2, new KeyValuePair<string, object?>("kind", "b"))]
            : new[] { new Measurement<int>(3, new KeyValuePair<string, object?>("kind", "a")) });

        Lines().Should().Contain(["test_items{kind=\"a\"} 1", "test_items{kind=\"b\"} 2"]);
        tagged = false;
        var lines = Lines();
        lines.Should().Contain("test_items{kind=\"a\"} 3");
        lines.Should().NotContain(l => l.StartsWith("test_items{kind=\"b\"}", StringComparison.Ordinal));
    }

    [Fact]
    public void UpDownCounter_IsAGaugeThatGoesBothWays()
    {
        var counter = _meter.CreateUpDownCounter<long>("test.connections", "{connection}");
        counter.Add(3);
        counter.Add(-1);

        Lines().Should().ContainInOrder("# TYPE test_connections gauge", "test_connections 2");
    }

    [Fact]
    public void Histogram_CumulativeBucketsSumAndCount_FromAdvisedBounds()
    {
        var histogram = _meter.CreateHistogram<double>("test.latency", "s", "Latency.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        histogram.Record(0.05, new KeyValuePair<string, object?>("method", "Get"));
        histogram.Record(0.1, new KeyValuePair<string, object?>("method", "Get"));
        histogram.Record(0.5, new KeyValuePair<string, object?>("method", "Get"));
        histogram.Record(5, new KeyValuePair<string, object?>("method", "Get"));

        Lines().Should().ContainInOrder(
            "# TYPE test_latency_seconds histogram",
            "test_latency_seconds_bucket{method=\"Get\",le=\"0.1\"} 2",
            "test_latency_seconds_bucket{method=\"Get\",le=\"1\"} 3",
            "test_latency_seconds_bucket{method=\"Get\",le=\"+Inf\"} 4",
            "test_latency_seconds_sum{method=\"Get\"} 5.65",
            "test_latency_seconds_count{method=\"Get\"} 4");
    }

    [Fact]
    public void Histogram_WithoutAdvice_SecondsUseThePrometheusDefaultBuckets()
    {
        _meter.CreateHistogram<double>("test.wait", "s").Record(0.003);

        var buckets = Lines().Where(l => l.StartsWith("test_wait_seconds_bucket", StringComparison.Ordinal)).ToList();
        buckets.Should().HaveCount(12);
        buckets[0].Should().Be("test_wait_seconds_bucket{le=\"0.005\"} 1");
        buckets[^1].Should().Be("test_wait_seconds_bucket{le=\"+Inf\"} 1");
    }

    [Fact]
    public void LabelValues_AreEscaped_AndLabelNamesSanitizedAndSorted()
    {
        var counter = _meter.CreateCounter<long>("test.escapes");
        counter.Add(1, new KeyValuePair<string, object?>("z.key", "quote\" backslash\\ newline\nend"), new KeyValuePair<string, object?>("a-key", 42));

        Lines().Should().Contain("test_escapes_total{a_key=\"42\",z_key=\"quote\\\" backslash\\\\ newline\\nend\"} 1");
    }

    [Fact]
    public void SameTagsInAnotherOrder_AreOneSeries()
    {
        var counter = _meter.CreateCounter<long>("test.calls");
        var a = new KeyValuePair<string, object?>("method", "Renew");
        var b = new KeyValuePair<string, object?>("status", "OK");
        counter.Add(1, a, b);
        counter.Add(1, b, a);
        counter.Add(1, new TagList { { "status", "OK" }, { "method", "Renew" } });

        Lines().Where(l => l.StartsWith("test_calls_total", StringComparison.Ordinal)).Should().Equal("test_calls_total{method=\"Renew\",status=\"OK\"} 3");
    }

    [Fact]
    public void MeterOfAnotherScope_IsNotExported()
    {
        using var other = new Meter(new MeterOptions(MeterName) { Scope = new object() });
        other.CreateCounter<long>("test.foreign").Add(1);
        _meter.CreateCounter<long>("test.own").Add(1);

        var text = _exporter.Collect();
        text.Should().Contain("test_own_total 1");
        text.Should().NotContain("test_foreign");
    }

    [Fact]
    public void ObservableCallbackThatThrows_LosesOnlyItsOwnValues()
    {
        _meter.CreateObservableGauge<long>("test.broken", new Func<long>(() => throw new InvalidOperationException("boom")));
        _meter.CreateObservableGauge("test.fine", () => 3L);

        var lines = Lines();
        lines.Should().Contain("test_fine 3");
        lines.Should().NotContain(l => l.StartsWith("test_broken ", StringComparison.Ordinal));
    }

    [Fact]
    public void HelpText_IsEscaped()
    {
        _meter.CreateCounter<long>("test.help", null, "line one\nback\\slash");

        Lines().Should().Contain("# HELP test_help_total line one\\nback\\\\slash");
    }

    [Fact]
    public void Output_EndsWithNewline_AndEveryLineIsACommentOrASample()
    {
        _meter.CreateCounter<long>("test.shape").Add(1, new KeyValuePair<string, object?>("k", "v"));
        _meter.CreateHistogram<long>("test.sizes", "By").Record(10);

        var text = _exporter.Collect();
        text.Should().EndWith("\n");
        foreach (var line in text.TrimEnd('\n').Split('\n'))
        {
            line.Should().MatchRegex(@"^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="".*""(,[a-zA-Z_][a-zA-Z0-9_]*="".*"")*\})? [-+0-9.eE]+|.* (\+Inf|NaN))$");
        }
    }

    [Theory]
    [InlineData("leaseservice.lease.grants", "{grant}", "Counter", "leaseservice_lease_grants_total")]
    [InlineData("rpc.server.call.duration", "s", "Histogram", "rpc_server_call_duration_seconds")]
    [InlineData("http.server-requests", "ms", "Counter", "http_server_requests_milliseconds_total")]
    [InlineData("jobs_total", null, "Counter", "jobs_total")]
    [InlineData("x.duration.seconds", "s", "Gauge", "x_duration_seconds")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("net.throughput", "By/s", "Gauge", "net_throughput_bytes_per_second")]
    [InlineData("cache.hit", "1", "Gauge", "cache_hit_ratio")]
    [InlineData("9lives..x", "{thing}", "Gauge", "_9lives_x")]
    public void MetricName_FollowsPrometheusConventions(string instrument, string? unit, string kind, string expected)
        => PrometheusText.MetricName(instrument, unit, Enum.Parse<MetricKind>(kind)).Should().Be(expected);

    private List<string> Lines() => [.. _exporter.Collect().Split('\n')];
}
