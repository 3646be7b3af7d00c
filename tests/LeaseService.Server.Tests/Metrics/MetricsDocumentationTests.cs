using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using LeaseService.Core;
using LeaseService.Server.Monitoring;
using LeaseService.Server.Rpc;
using LeaseService.Server.Security;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Server.Tests.Metrics;

/// <summary>
/// docs/OPERATIONS.md's metric tables against the real server: every instrument of our meters is
/// listed under its Prometheus name with its type, every listed one exists, and what /metrics
/// exports has that name and type.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricsDocumentationTests
{
    private static readonly string[] OurMeters = [LeaseManager.MeterName, LeaseMonitor.MeterName, CallInstruments.MeterName];

    [Fact]
    public async Task EveryInstrument_IsInTheOperationsTables_WithItsPrometheusNameAndType_AndNothingElseIs()
    {
        var documented = DocumentedMetrics();
        await using var server = await ServerFixture.StartWithMetricsAsync();
        await server.Client.AddLeaseAsync("doc-writer", "/doc/a").DefaultTimeout(); // The call instruments' first use.
        var meters = server.App.Services.GetRequiredService<IMeterFactory>();
        _ = new AccessDenials(meters, NullLogger<AccessDenials>.Instance); // Registered only with authentication on.

        var instruments = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Scope == meters && OurMeters.Contains(instrument.Meter.Name))
                {
                    instruments[PrometheusName(instrument)] = PrometheusType(instrument);
                }
            },
        })
        {
            listener.Start();
        }

        instruments.Should().Equal(documented, "docs/OPERATIONS.md lists each instrument of {0} with its Prometheus name and type", string.Join(", ", OurMeters));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var text = await http.GetStringAsync(server.MetricsAddress + "/metrics").DefaultTimeout();
        var exported = TypeLine().Matches(text).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        var ours = exported.Where(e => e.Key.StartsWith("leaseservice_", StringComparison.Ordinal) || e.Key.StartsWith("rpc_", StringComparison.Ordinal)).ToList();
        ours.Should().NotBeEmpty();
        ours.Should().OnlyContain(e => documented.ContainsKey(e.Key) && documented[e.Key] == e.Value, "what /metrics exports is documented under that name and type");
    }

    /// <summary>The rows of OPERATIONS' metric tables naming one of our metrics: name → type.</summary>
    private static Dictionary<string, string> DocumentedMetrics()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LeaseService.sln")))
        {
            directory = directory.Parent;
        }

        directory.Should().NotBeNull("the tests run inside the repository");
        var rows = File.ReadAllLines(Path.Combine(directory!.FullName, "docs", "OPERATIONS.md"))
            .Select(line => TableRow().Match(line))
            .Where(m => m.Success)
            .ToList();
        rows.Should().NotBeEmpty();
        return rows.ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
    }

    /// <summary>As OpenTelemetry's Prometheus exporter names it: dots to underscores, the unit (seconds) as a suffix, counters with _total.</summary>
    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        if (instrument.Unit == "s")
        {
            name += "_seconds";
        }

        return PrometheusType(instrument) == "counter" ? name + "_total" : name;
    }

    private static string PrometheusType(Instrument instrument)
    {
        var kind = instrument.GetType().GetGenericTypeDefinition();
        return kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>) ? "counter"
            : kind == typeof(Histogram<>) ? "histogram"
            : "gauge"; // Gauges and up/down counters.
    }

    [GeneratedRegex(@"^\| `((?:leaseservice|rpc_server)_[a-z_]+)` \| (counter|gauge|histogram) \|")]
    private static partial Regex TableRow();

    [GeneratedRegex(@"^# TYPE (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TypeLine();
}
