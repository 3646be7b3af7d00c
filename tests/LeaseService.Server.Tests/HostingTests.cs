using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using LeaseService.Client;
using LeaseService.Core.DataNodes;
using Grpc.Net.Client;
using LeaseService.Server.Monitoring;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Tests;

/// <summary>Hosting: TLS, configurable limits, start-up validation, a monitor that never dies.</summary>
public sealed class HostingTests
{
    [Fact]
    public async Task Tls_ConfiguredEndpoint_ServesGrpcOverHttp2WithAlpn()
    {
        var dir = Directory.CreateTempSubdirectory("leaseservice-tls-");
        try
        {
            var pfx = Path.Combine(dir.FullName, "server.pfx");
            string thumbprint;
            using (var key = RSA.Create(2048))
            {
                var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                var san = new SubjectAlternativeNameBuilder();
                san.AddIpAddress(System.Net.IPAddress.Loopback);
                request.CertificateExtensions.Add(san.Build());
                using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                await File.WriteAllBytesAsync(pfx, cert.Export(X509ContentType.Pfx, "secret"));
                thumbprint = cert.Thumbprint;
            }

            await using var app = LeaseServer.Build(
            [
                "--Kestrel:Endpoints:Tls:Url=https://127.0.0.1:0",
                $"--Kestrel:Endpoints:Tls:Certificate:Path={pfx}",
                "--Kestrel:Endpoints:Tls:Certificate:Password=secret",
                "--Serilog:MinimumLevel:Default=Warning",
                "--Metrics:Url=",
                "--Storage:Provider=InMemory",
            ]);
            await app.StartAsync().DefaultTimeout();
            var address = app.ListeningAddresses().Single();
            address.Should().StartWith("https://");

            using var client = LeaseClient.Create(address, new LeaseClientOptions
            {
                Channel = new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler
                    {
                        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is X509Certificate2 c && c.Thumbprint == thumbprint },
                    },
                },
            });
            (await client.AddLeaseAsync("tls-writer", "/secure").DefaultTimeout()).Holder.Should().Be("tls-writer");
            await app.StopAsync().DefaultTimeout();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public void MaxReceiveMessageSize_NotPositive_StopsStartUp_NamingTheKey(string value)
    {
        var build = () => LeaseServer.Build(["--urls", "http://127.0.0.1:0", $"--Grpc:MaxReceiveMessageSize={value}", "--Metrics:Url=", "--Storage:Provider=InMemory"]);

        build.Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("Grpc:MaxReceiveMessageSize").And.Contain(value);
    }

    [Fact]
    public async Task MaxReceiveMessageSize_IsConfigurable()
    {
        await using var server = await ServerFixture.StartAsync("--Grpc:MaxReceiveMessageSize=1024");
        using var raw = new RawGrpc(server.Address);

        var small = await raw.SendAsync("/leases.v1.LeaseService/GetLease", RawGrpc.Frame(new Contracts.V1.GetLeaseRequest { Path = "/a" })).DefaultTimeout();
        var large = await raw.SendAsync("/leases.v1.LeaseService/GetLease", RawGrpc.Frame(new Contracts.V1.GetLeaseRequest { Path = "/" + new string('x', 2000) })).DefaultTimeout();

        small.GrpcStatus.Should().Be("5", "a small request is served (NOT_FOUND: no such lease)");
        large.GrpcStatus.Should().Be("8");
    }

    [Theory]
    [InlineData("--Leases:SoftLimit=00:00:00", "Leases:SoftLimit")]
    [InlineData("--Leases:HardLimit=00:00:30", "Leases:HardLimit")]
    [InlineData("--Leases:MonitorInterval=-00:00:01", "Leases:MonitorInterval")]
    [InlineData("--Leases:MinReplication=5", "Leases:MinReplication")]
    [InlineData("--Leases:MaxBlocksPerFile=0", "Leases:MaxBlocksPerFile")]
    [InlineData("--DataNodes:DataNodeCount=0", "DataNodes:DataNodeCount")]
    // Listening ports Kestrel misreads ("127.0.0.1:abc" is a host on port 80) or binds only to throw.
    [InlineData("--urls=http://127.0.0.1:99999", "urls (--urls, ASPNETCORE_URLS): 'http://127.0.0.1:99999' has port 99999, outside 0 to 65535")]
    [InlineData("--urls=http://127.0.0.1:abc", "urls (--urls, ASPNETCORE_URLS): 'http://127.0.0.1:abc' has a port that is not a number")]
    [InlineData("--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:70000", "Kestrel:Endpoints:Grpc:Url: 'http://127.0.0.1:70000' has port 70000")]
    [InlineData("--HTTP_PORTS=5050;-1", "HTTP_PORTS (ASPNETCORE_HTTP_PORTS): 'http://+:-1' has port -1")]
    // Durations have upper bounds: beyond them a timer refused the period, the clock's units
    // overflowed at start-up, or (the work budget) every monitor pass threw and nothing expired.
    [InlineData("--Leases:HardLimit=366.00:00:00", "Leases:HardLimit must be at most 365.00:00:00")]
    [InlineData("--Leases:HardLimit=200000.00:00:00", "Leases:HardLimit must be at most 365.00:00:00")]
    [InlineData("--Leases:MonitorInterval=01:00:01", "Leases:MonitorInterval must be greater than zero and at most 01:00:00")]
    [InlineData("--Leases:MonitorInterval=50.00:00:00", "Leases:MonitorInterval must be greater than zero and at most 01:00:00")]
    [InlineData("--Leases:MaxMonitorWorkPerPass=00:00:01.001", "Leases:MaxMonitorWorkPerPass must be greater than zero and at most 00:00:01")]
    [InlineData("--Leases:MaxMonitorWorkPerPass=10675199.00:00:00", "Leases:MaxMonitorWorkPerPass must be greater than zero and at most 00:00:01")]
    [InlineData("--Leases:RecoveryTimeout=1.00:00:01", "Leases:RecoveryTimeout must be greater than zero and at most 1.00:00:00")]
    [InlineData("--Leases:RecoveryTimeout=10675199.00:00:00", "Leases:RecoveryTimeout must be greater than zero and at most 1.00:00:00")]
    public async Task InvalidOptions_StopStartUpNamingTheKey(string setting, string key)
    {
        var act = () => BuildAndStartAsync(setting);

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(key);
    }

    [Fact]
    public async Task UnparsableOption_StopsStartUpNamingTheKey()
    {
        var act = () => BuildAndStartAsync("--Leases:SoftLimit=soon");

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("Leases:SoftLimit");
    }

    [Fact]
    public async Task Monitor_PassThatThrows_IsLoggedAndTheMonitorKeepsRunning()
    {
        var dataNodes = new FlakyDataNodes();
        var time = new FakeTimeProvider();
        await using var app = LeaseServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", "--Leases:HardLimit=00:01:00", "--Leases:SoftLimit=00:00:30", "--Storage:Provider=InMemory"],
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(time);
                builder.Services.AddSingleton<IDataNodeCoordinator>(dataNodes);
            });
        using var passes = new MonitorPassListener(app.Services.GetRequiredService<IMeterFactory>());
        await app.StartAsync().DefaultTimeout();
        using var client = LeaseClient.Create(app.ListeningAddresses()[0]);
        await client.AddLeaseAsync("w", "/a").DefaultTimeout();
        async Task StepAsync()
        {
            var pass = passes.NextPass;
            time.Advance(TimeSpan.FromSeconds(2));
            await pass.DefaultTimeout();
        }

        for (var i = 0; i < 30; i++)
        {
            await StepAsync(); // Up to exactly the hard limit: not expired yet.
        }

        dataNodes.FailNext = true;
        await StepAsync(); // Past the hard limit; this pass throws.
        dataNodes.FailNext.Should().BeFalse("the pass asked for the DataNodes and failed");
        (await client.GetLeaseAsync("/a").DefaultTimeout()).Holder.Should().Be("w", "the failed pass changed nothing");

        await StepAsync();
        await FluentActions.Awaiting(() => client.GetLeaseAsync("/a")).Should().ThrowAsync<LeaseNotFoundException>("the next pass recovered it");
        await app.StopAsync().DefaultTimeout();
    }

    private static async Task BuildAndStartAsync(string setting)
    {
        await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Storage:Provider=InMemory", "--Metrics:Url=", setting]);
        await app.StartAsync();
        await app.StopAsync();
    }

    /// <summary>No DataNodes; GetDataNodes throws once when told to (a monitor pass calls it first).</summary>
    private sealed class FlakyDataNodes : IDataNodeCoordinator
    {
        public bool FailNext { get; set; }

        public IReadOnlyList<DataNodeStatus> GetDataNodes()
        {
            if (FailNext)
            {
                FailNext = false;
                throw new InvalidOperationException("membership service unreachable");
            }

            return [];
        }

        public ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<ReplicaReport>>([]);

        public ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
            => throw new InvalidOperationException("no blocks in this test");
    }
}
