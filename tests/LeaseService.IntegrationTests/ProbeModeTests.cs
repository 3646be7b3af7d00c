using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// <c>LeaseService.Server --probe</c>, the container's HEALTHCHECK, run as Docker runs it: a second
/// process of the same published build against the running server.
/// </summary>
public sealed class ProbeModeTests(SharedServer server, ITestOutputHelper output) : SharedServerTests(server, output)
{
    [Fact]
    public async Task Probe_ServingServer_ExitsZero()
    {
        var (exit, text) = await ProbeAsync(["--address", Server.Address]);

        exit.Should().Be(0, text);
        text.Should().Be($"leases.v1.LeaseService at {Server.Address}: Serving");
    }

    [LoopbackServerFact]
    public async Task Probe_AddressFromAspNetCoreUrlsWildcard_AsInTheContainer()
    {
        var port = new Uri(Server.Address).Port;

        var (exit, text) = await ProbeAsync([], ("ASPNETCORE_URLS", $"http://+:{port}"));

        exit.Should().Be(0, text);
        text.Should().Contain($"http://127.0.0.1:{port}").And.EndWith("Serving");
    }

    [Fact]
    public async Task Probe_UnknownService_ExitsOneWithTheReason()
    {
        var (exit, text) = await ProbeAsync(["--address", Server.Address, "--service", "no.such.Service"]);

        exit.Should().Be(1, text);
        text.Should().Contain("NotFound");
    }

    [Fact]
    public async Task Probe_NothingListening_ExitsOne()
    {
        var (exit, text) = await ProbeAsync(["--address", LoopbackPorts.RefusedAddress(), "--timeout", "2s"]);

        exit.Should().Be(1, text);
        text.Should().Contain("Unavailable");
        text.Split('\n').Should().ContainSingle("the probe prints one line");
    }

    [Fact]
    public async Task Probe_ServerThatNeverAnswers_ExitsOneSayingSo()
    {
        // A wedged or paused (SIGSTOP) server: the kernel accepts the connection, nothing answers.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var address = $"http://127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";

        var (exit, text) = await ProbeAsync(["--address", address, "--timeout", "500ms"]);

        exit.Should().Be(1, text);
        text.Should().Be($"leases.v1.LeaseService at {address}: no answer within 500ms (DeadlineExceeded)");
    }

    [Fact]
    public async Task Probe_BadArgument_ExitsOne()
    {
        var (exit, text) = await ProbeAsync(["--timeout", "soon"]);

        exit.Should().Be(1, text);
        text.Should().StartWith("probe: bad timeout");
    }

    // The image's HEALTHCHECK of a TLS deployment: the certificate names the service
    // (leases.internal), not 127.0.0.1, and its CA is not in the container's store. The probe,
    // beside its own server on loopback, does not check name and chain: it reported such a
    // healthy server unhealthy forever.
    [OwnProcessFact]
    public async Task Probe_TlsServerOnLoopback_CertificateForItsServiceName_ExitsZero()
    {
        await using var tls = await TlsServer.StartAsync(expired: false);

        var fromUrls = await ProbeAsync([], ("ASPNETCORE_URLS", $"https://+:{tls.Port}"));
        var byName = await ProbeAsync(["--address", $"https://localhost:{tls.Port}"]);

        fromUrls.Exit.Should().Be(0, fromUrls.Output);
        fromUrls.Output.Should().Be($"leases.v1.LeaseService at https://127.0.0.1:{tls.Port}: Serving");
        byName.Exit.Should().Be(0, byName.Output);
    }

    // What the probe still checks over TLS on loopback: every client refuses an expired certificate.
    [OwnProcessFact]
    public async Task Probe_TlsServerOnLoopback_ExpiredCertificate_ExitsOne()
    {
        await using var tls = await TlsServer.StartAsync(expired: true);

        var (exit, text) = await ProbeAsync(["--address", $"https://127.0.0.1:{tls.Port}", "--timeout", "5s"]);

        exit.Should().Be(1, text);
        text.Should().StartWith($"leases.v1.LeaseService at https://127.0.0.1:{tls.Port}: the server's certificate expired ");
    }

    // Grpc.Net.Client takes "localhost:5050" for the scheme "localhost" and refuses it, and other
    // schemes, by throwing: the probe died with a stack trace (exit 134).
    [Theory]
    [InlineData("localhost:5050")]
    [InlineData("ftp://localhost:5050")]
    [InlineData("dns:///localhost:5050")]
    [InlineData("unix:/tmp/leaseservice.sock")]
    public async Task Probe_AddressThatIsNotAnHttpUrl_ExitsOneWithOneLine(string address)
    {
        var (exit, text) = await ProbeAsync(["--address", address, "--timeout", "2s"]);

        exit.Should().Be(1, text);
        text.Should().Be($"probe: bad address '{address}': expected http://host:port or https://host:port");
    }

    // The deadline was computed beyond DateTime's range and reported as a "bad address".
    [Fact]
    public async Task Probe_TimeoutBeyondAnHour_ExitsOneNamingTheTimeout()
    {
        var (exit, text) = await ProbeAsync(["--address", Server.Address, "--timeout", "10675199.00:00:00"]);

        exit.Should().Be(1, text);
        text.Should().Be("probe: timeout must be greater than zero and at most 1h (was '10675199.00:00:00')");
    }

    private static async Task<(int Exit, string Output)> ProbeAsync(string[] args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(ServerProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(ServerProcess.ServerDll);
        start.ArgumentList.Add("--probe");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("ASPNETCORE_HTTP_PORTS");
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().DefaultTimeout();
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    /// <summary>A server process over TLS on loopback with a self-signed certificate for leases.internal, serving once started.</summary>
    private sealed class TlsServer : IAsyncDisposable
    {
        private readonly DirectoryInfo _directory;
        private readonly ServerProcess _server;

        private TlsServer(DirectoryInfo directory, ServerProcess server, int port)
            => (_directory, _server, Port) = (directory, server, port);

        public int Port { get; }

        public static async Task<TlsServer> StartAsync(bool expired)
        {
            var directory = Directory.CreateTempSubdirectory("leaseservice-probe-tls-");
            try
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var request = new CertificateRequest("CN=leases.internal", key, HashAlgorithmName.SHA256);
                var names = new SubjectAlternativeNameBuilder();
                names.AddDnsName("leases.internal");
                request.CertificateExtensions.Add(names.Build());
                var notAfter = expired ? DateTimeOffset.UtcNow.AddDays(-1) : DateTimeOffset.UtcNow.AddDays(1);
                using var certificate = request.CreateSelfSigned(notAfter.AddDays(-7), notAfter);
                var certificatePath = Path.Combine(directory.FullName, "server.crt");
                var keyPath = Path.Combine(directory.FullName, "server.key");
                await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem());
                await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem());
                var thumbprint = certificate.Thumbprint;
                var port = LoopbackPorts.Free();
                var server = await ServerProcess.StartAsync(
                    new Dictionary<string, string>
                    {
                        ["Storage__Provider"] = "InMemory",
                        ["Kestrel__Certificates__Default__Path"] = certificatePath,
                        ["Kestrel__Certificates__Default__KeyPath"] = keyPath,
                    },
                    $"https://127.0.0.1:{port}");
                var tls = new TlsServer(directory, server, port);
                using var handler = new SocketsHttpHandler();
                handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented is X509Certificate2 c && c.Thumbprint == thumbprint;
                using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { HttpHandler = handler });
                await Health.WaitForServingAsync(channel.CreateCallInvoker(), retryWhileUnreachable: false);
                return tls;
            }
            catch
            {
                directory.Delete(recursive: true);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            _directory.Delete(recursive: true);
        }
    }
}
