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
}
