using System.Net;
using System.Net.Sockets;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.IntegrationTests;

/// <summary>
/// Start-up problems a user can cause stop the process with one line naming the cause and the key
/// to change, exit code 2, and no stack trace.
/// </summary>
public sealed class StartupRefusalTests
{
    [OwnProcessFact]
    public async Task GrpcPortInUse_ExitsWithCode2NamingTheUrlsKey()
    {
        using var holder = Occupy(out var port);

        var output = await StartExpectingExitAsync(new Dictionary<string, string>(), $"http://127.0.0.1:{port}");

        output.Should().Contain("Cannot listen").And.Contain($"127.0.0.1:{port}").And.Contain("urls");
    }

    [OwnProcessFact]
    public async Task MetricsPortInUse_ExitsWithCode2NamingMetricsUrl()
    {
        using var holder = Occupy(out var port);

        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Metrics__Url"] = $"http://127.0.0.1:{port}" });

        output.Should().Contain($"Cannot serve metrics on http://127.0.0.1:{port}").And.Contain("Metrics:Url");
    }

    [OwnProcessFact]
    public async Task MalformedUrl_ExitsWithCode2()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string>(), "notaurl");

        output.Should().Contain("Invalid configuration").And.Contain("notaurl");
    }

    [OwnProcessFact]
    public async Task GrpcPortOutOfRange_ExitsWithCode2NamingTheUrlsKey()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string>(), "http://127.0.0.1:99999");

        output.Should().Contain("Invalid configuration: urls (--urls, ASPNETCORE_URLS): 'http://127.0.0.1:99999' has port 99999");
    }

    // TEST-NET-3 (RFC 5737): no interface of this machine has it. Kestrel passes the bind failure
    // (EADDRNOTAVAIL) on as a bare SocketException.
    [OwnProcessFact]
    public async Task GrpcAddressThisMachineDoesNotHave_ExitsWithCode2NamingTheUrlsKey()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Security__AllowAnonymous"] = "true" }, $"http://{NotOurAddress}:{LoopbackPorts.Free()}");

        output.Should().Contain("Cannot listen: Cannot assign requested address (AddressNotAvailable): no network interface of this machine has that address").And.Contain("urls");
    }

    [OwnProcessFact]
    public async Task MetricsPortOutOfRange_ExitsWithCode2NamingMetricsUrl()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Metrics__Url"] = "http://127.0.0.1:99999" });

        output.Should().Contain("Invalid configuration: Metrics:Url").And.Contain("'http://127.0.0.1:99999' has port 99999");
    }

    // Kestrel reads "127.0.0.1:notaport" as a host and serves it on every interface, port 80.
    [OwnProcessFact]
    public async Task MetricsPortNotANumber_ExitsWithCode2NamingMetricsUrl()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Metrics__Url"] = "http://127.0.0.1:notaport" });

        output.Should().Contain("Invalid configuration: Metrics:Url").And.Contain("has a port that is not a number");
    }

    [OwnProcessFact]
    public async Task MetricsAddressThisMachineDoesNotHave_ExitsWithCode2NamingMetricsUrl()
    {
        var url = $"http://{NotOurAddress}:{LoopbackPorts.Free()}";

        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Metrics__Url"] = url });

        output.Should().Contain($"Cannot serve metrics on {url}: Cannot assign requested address: no network interface of this machine has that address").And.Contain("Metrics:Url");
    }

    [OwnProcessFact]
    public async Task MissingCertificate_ExitsWithCode2NamingTheCertificateSettings()
    {
        var missing = Path.Combine(Path.GetTempPath(), "leaseservice-missing-" + Guid.NewGuid().ToString("N") + ".pfx");

        var output = await StartExpectingExitAsync(new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Tls__Url"] = "https://127.0.0.1:0",
            ["Kestrel__Endpoints__Tls__Certificate__Path"] = missing,
        });

        output.Should().Contain("Invalid configuration").And.Contain("Certificate");
    }

    // Beyond the clock's range in its units: an OverflowException and a stack trace (exit 134).
    [OwnProcessFact]
    public async Task HardLimitBeyondItsBound_ExitsWithCode2NamingTheKey()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Leases__HardLimit"] = "200000.00:00:00" });

        output.Should().Contain("Invalid configuration: Leases:HardLimit must be at most 365.00:00:00");
    }

    [OwnProcessFact]
    public async Task UnknownSerilogLevel_ExitsWithCode2NamingTheKey()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string> { ["Serilog__MinimumLevel__Default"] = "Info" });

        output.Should().Contain("Invalid configuration: Serilog:MinimumLevel:Default must be a Serilog level");
    }

    // A trailing space, as an env file or a YAML value easily has: the process crashed (SIGABRT,
    // "No service for type EtcdClient") once the validator had accepted it.
    [OwnProcessFact]
    public async Task StorageProviderWithASpace_ExitsWithCode2NamingTheKey()
    {
        var output = await StartExpectingExitAsync(new Dictionary<string, string>
        {
            ["Storage__Provider"] = "Etcd ",
            ["Storage__Etcd__Endpoints"] = "http://127.0.0.1:2379",
        });

        output.Should().Contain("Invalid configuration: Storage:Provider must be RocksDb, InMemory or Etcd (was 'Etcd ')");
    }

    private const string NotOurAddress = "203.0.113.7";

    private static TcpListener Occupy(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    private static async Task<string> StartExpectingExitAsync(IReadOnlyDictionary<string, string> environment, string url = "http://127.0.0.1:0")
    {
        var start = () => ServerProcess.StartAsync(environment, url);

        var failure = (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message;
        failure.Should().Contain("exited with code 2");
        failure.Should().NotContain("   at ", "no stack trace, only the reason");
        return failure;
    }
}
