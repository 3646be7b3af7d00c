using System.Globalization;
using System.Net;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Tests.Metrics;

/// <summary>The real server's /metrics over HTTP/1.1 on its own port, changing with real RPCs and monitor passes.</summary>
[Collection(MetricsCollection.Name)]
public sealed class MetricsEndpointTests : IAsyncLifetime
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ServerFixture _server = null!;

    public async Task InitializeAsync() => _server = await ServerFixture.StartWithMetricsAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Metrics_ServedOverHttp11_AsPrometheusText()
    {
        // OpenTelemetry exports an instrument once it has a measurement.
        await _server.Client.AddLeaseAsync("w", "/m").DefaultTimeout();
        await _server.AdvanceWithMonitorAsync(ServerFixture.Interval);
        using var response = await _http.GetAsync(_server.MetricsAddress + "/metrics").DefaultTimeout();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Version.Should().Be(HttpVersion.Version11);
        response.Content.Headers.ContentType!.ToString().Should().StartWith("text/plain; version=0.0.4");
        var text = await response.Content.ReadAsStringAsync();
        text.Should().Contain("# TYPE leaseservice_lease_grants_total counter");
        text.Should().Contain("# TYPE rpc_server_call_duration_seconds histogram");
        text.Should().Contain("# TYPE leaseservice_monitor_pass_duration_seconds histogram");
        text.Should().Contain("# TYPE dotnet_gc_collections_total counter", "the runtime's meter is exported too");
    }

    [Fact]
    public async Task AddLease_IncrementsGrantsAndOpenFiles_AndCountsTheRpcAsOk()
    {
        var before = await ScrapeAsync();
        await _server.Client.AddLeaseAsync("writer-1", "/m/a", "host").DefaultTimeout();
        await _server.Client.AddLeaseAsync("writer-1", "/m/b", "host").DefaultTimeout();
        await _server.Client.RenewLeaseAsync("writer-1").DefaultTimeout();

        var after = await ScrapeAsync();
        Value(after, "leaseservice_lease_grants_total").Should().Be(Value(before, "leaseservice_lease_grants_total") + 2);
        Value(after, "leaseservice_lease_renewals_total").Should().Be(Value(before, "leaseservice_lease_renewals_total") + 1);
        Value(after, "leaseservice_files_open").Should().Be(2);
        Value(after, "leaseservice_leases").Should().Be(1);
        Value(after, "rpc_server_call_duration_seconds_count{rpc_method=\"AddLease\",rpc_service=\"leases.v1.LeaseService\",rpc_grpc_status_code=\"OK\"}").Should().Be(2);
        Value(after, "rpc_server_call_duration_seconds_count{rpc_method=\"AddLease\",rpc_service=\"leases.v1.LeaseService\",rpc_grpc_status_code=\"OK\"}").Should().Be(2);
    }

    [Fact]
    public async Task RenewLease_UnknownHolder_CountedAsRenewLeaseNotFound()
    {
        var act = () => _server.Client.RenewLeaseAsync("nobody");
        await act.Should().ThrowAsync<LeaseNotFoundException>();

        var text = await ScrapeAsync();
        Value(text, "rpc_server_call_duration_seconds_count{rpc_method=\"RenewLease\",rpc_service=\"leases.v1.LeaseService\",rpc_grpc_status_code=\"NotFound\"}").Should().Be(1);
        Value(text, "leaseservice_lease_renewals_total").Should().Be(0, "a failed renewal renews nothing");
        Value(text, "rpc_server_call_duration_seconds_bucket{rpc_method=\"RenewLease\",rpc_service=\"leases.v1.LeaseService\",rpc_grpc_status_code=\"NotFound\",le=\"+Inf\"}").Should().Be(1);
    }

    [Fact]
    public async Task MonitorExpiry_IncrementsExpiries_AndRecordsPasses()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/m/expiring", "host").DefaultTimeout();

        await _server.AdvanceWithMonitorAsync(ServerFixture.Hard + (2 * ServerFixture.Interval));

        var text = await ScrapeAsync();
        Value(text, "leaseservice_lease_expiries_total").Should().Be(1);
        Value(text, "leaseservice_files_open").Should().Be(0, "a file without blocks closes at once");
        Value(text, "leaseservice_lease_oldest_overdue_age_seconds").Should().Be(0);
        Value(text, "leaseservice_monitor_pass_duration_seconds_count").Should().BeGreaterThan(0);
        text.Split('\n').Where(l => l.StartsWith("leaseservice_monitor_budget_overruns_total", StringComparison.Ordinal))
            .All(l => l.EndsWith(" 0", StringComparison.Ordinal)).Should().BeTrue("no pass overran (the counter appears once it counts)");
    }

    [Fact]
    public async Task MetricsPort_DoesNotServeGrpc()
    {
        using var raw = new RawGrpc(_server.MetricsAddress!);
        var grpc = () => raw.SendAsync("/leases.v1.LeaseService/RenewLease", RawGrpc.Frame(new RenewLeaseRequest { Holder = "x" }));
        await grpc.Should().ThrowAsync<HttpRequestException>("the metrics port speaks HTTP/1.1 only");

        using var post = await _http.PostAsync(_server.MetricsAddress + "/leases.v1.LeaseService/RenewLease", new ByteArrayContent([])).DefaultTimeout();
        post.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task GrpcPort_DoesNotServeMetrics()
    {
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http2.GetAsync(_server.Address + "/metrics").DefaultTimeout();

        response.StatusCode.Should().NotBe(HttpStatusCode.OK, "only gRPC is served there");
        (await response.Content.ReadAsStringAsync()).Should().NotContain("leaseservice_");
    }

    [Fact]
    public async Task OtherPathsAndMethods_OnTheMetricsPort_AreRefused()
    {
        using var other = await _http.GetAsync(_server.MetricsAddress + "/").DefaultTimeout();
        other.StatusCode.Should().Be(HttpStatusCode.NotFound);

        using var delete = await _http.DeleteAsync(_server.MetricsAddress + "/metrics").DefaultTimeout();
        delete.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }

    [Fact]
    public async Task SingleServer_IsTheActiveReplica_ActivatedOnce()
    {
        var text = await ScrapeAsync();

        Value(text, "leaseservice_replica_active").Should().Be(1, "a single server serves leases.v1 from the start");
        Value(text, "leaseservice_replica_activations_total").Should().Be(1);
    }

    private async Task<string> ScrapeAsync() => await _http.GetStringAsync(_server.MetricsAddress + "/metrics").DefaultTimeout();

    /// <summary>
    /// The value of the one sample named as <paramref name="series"/> whose labels include those of
    /// <paramref name="series"/> (the exporter adds <c>otel_scope_name</c> and the like).
    /// </summary>
    private static double Value(string text, string series) => PrometheusSample.Value(text, series);
}

/// <summary>Start-up with and without the metrics endpoint.</summary>
public sealed class MetricsConfigurationTests
{
    [Theory]
    [InlineData("ftp://localhost:9464")]
    [InlineData("https://localhost:9464")]
    [InlineData("http://localhost:9464/prefix")]
    [InlineData("localhost")]
    public async Task InvalidMetricsUrl_StopsStartUp_NamingTheKey(string url)
    {
        await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", $"--Metrics:Url={url}", "--Serilog:MinimumLevel:Default=Warning", "--Storage:Provider=InMemory"]);

        var start = () => app.StartAsync();

        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("Metrics:Url").And.Contain(url);
    }

    [Fact]
    public async Task EmptyMetricsUrl_DisablesTheEndpoint()
    {
        await using var server = await ServerFixture.StartAsync();

        server.MetricsAddress.Should().BeNull();
        server.App.MetricsAddresses().Should().BeEmpty();
    }

    [Fact]
    public async Task MetricsUrl_WithUrlsOnTheCommandLine_BothBound()
    {
        await using var server = await ServerFixture.StartWithMetricsAsync();

        server.App.ListeningAddresses().Should().ContainSingle().Which.Should().NotBe(server.MetricsAddress, "the gRPC address stays as --urls set it");
        new Uri(server.MetricsAddress!).Port.Should().BeGreaterThan(0, "port 0 is resolved to the bound port");
        (await server.Client.AddLeaseAsync("w", "/both", "h").DefaultTimeout()).Holder.Should().Be("w");
    }
}

/// <summary>
/// The OpenTelemetry SDK subscribes to meters by name, process-wide: a scrape would include the
/// instruments of every other server the test process runs at the same time. Scrape tests run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "Metrics (alone in the process)";
}
