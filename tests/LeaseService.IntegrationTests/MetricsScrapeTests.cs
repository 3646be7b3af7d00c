using System.Net;
using LeaseService.Client;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>A scraper reads the server's Prometheus text over plain HTTP/1.1, as operators' would.</summary>
public sealed class MetricsScrapeTests(ITestOutputHelper output)
{
    [OwnProcessFact]
    public async Task Metrics_OverHttp11_CountGrantsAndRpcsByMethodAndStatus()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string>());
        try
        {
            using var client = LeaseClient.Create(server.Address);
            await client.AddLeaseAsync("scraped", "/metrics/a").DefaultTimeout();
            await FluentActions.Awaiting(() => client.RenewLeaseAsync("nobody")).Should().ThrowAsync<LeaseNotFoundException>();

            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
            using var response = await http.GetAsync(await server.MetricsUrl.DefaultTimeout()).DefaultTimeout();
            var text = await response.Content.ReadAsStringAsync();

            response.Version.Should().Be(HttpVersion.Version11);
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
            text.Should().Contain("# TYPE leaseservice_lease_grants_total counter");
            PrometheusSample.Value(text, "leaseservice_lease_grants_total").Should().Be(1);
            PrometheusSample.Value(text, "rpc_server_call_duration_seconds_count{rpc_method=\"RenewLease\",rpc_grpc_status_code=\"NotFound\"}").Should().Be(1);
            PrometheusSample.Value(text, "leaseservice_files_open").Should().Be(1);
        }
        catch
        {
            output.WriteLine(server.Output);
            throw;
        }
    }

    // docs/OPERATIONS.md: kestrel_* count the gRPC endpoints' connections, not the metrics port's
    // own. The OpenTelemetry SDK subscribes to Kestrel's meter by name, process-wide, so the
    // metrics server's Kestrel showed up with server_port = the metrics port.
    [OwnProcessFact]
    public async Task KestrelConnectionMetrics_CountTheGrpcPort_NotTheMetricsPort()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string>());
        try
        {
            var metricsUrl = await server.MetricsUrl.DefaultTimeout();

            // The ports as the server sees them (a container's are mapped to others on the host).
            var (grpcPort, metricsPort) = (ListenPort(server.Output, "LeaseService listening on "), ListenPort(server.Output, "LeaseService metrics on "));
            using var client = LeaseClient.Create(server.Address);
            await client.AddLeaseAsync("kestrel-counted", "/metrics/kestrel").DefaultTimeout();
            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };
            await http.GetStringAsync(metricsUrl).DefaultTimeout(); // A connection of the metrics port, open.

            var text = await http.GetStringAsync(metricsUrl).DefaultTimeout();

            var kestrel = text.Split('\n').Where(line => line.StartsWith("kestrel_", StringComparison.Ordinal)).ToList();
            kestrel.Should().Contain(line => line.Contains($"server_port=\"{grpcPort}\"", StringComparison.Ordinal), "the gRPC connection is counted");
            kestrel.Should().NotContain(line => line.Contains($"server_port=\"{metricsPort}\"", StringComparison.Ordinal));
        }
        catch
        {
            output.WriteLine(server.Output);
            throw;
        }
    }

    /// <summary>The port of the URL the server printed after <paramref name="marker"/> at start-up.</summary>
    private static int ListenPort(string output, string marker)
    {
        var line = output.Split('\n').First(l => l.Contains(marker, StringComparison.Ordinal));
        return new Uri(line[(line.IndexOf(marker, StringComparison.Ordinal) + marker.Length)..].Trim().Replace("[::]", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal).Replace("*", "localhost", StringComparison.Ordinal)).Port;
    }
}
