using System.Diagnostics;
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
    public async Task Probe_BadArgument_ExitsOne()
    {
        var (exit, text) = await ProbeAsync(["--timeout", "soon"]);

        exit.Should().Be(1, text);
        text.Should().StartWith("probe: bad timeout");
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
}
