using System.Diagnostics;
using LeaseService.Client;
using LeaseService.IntegrationTests.Infrastructure;
using Grpc.Core;
using LeaseService.Testing;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests;

/// <summary>
/// SIGTERM (docker stop) drains the server: a call in flight finishes, new calls get UNAVAILABLE,
/// health goes NOT_SERVING, and the process exits 0. The server runs on the real clock: the
/// in-flight call is a close that waits out a paused DataNode's 2 s call timeout, so this test
/// takes about 2 s of real time, which is the point (a drain is real time).
/// </summary>
public sealed class ShutdownTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(2);
    private IServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync(new Dictionary<string, string>
    {
        ["DataNodes__CallTimeout"] = "00:00:02",
    });

    public async Task DisposeAsync()
    {
        output.WriteLine(_server.Output);
        await _server.DisposeAsync();
    }

    [OwnProcessFact]
    public async Task Sigterm_InFlightCallFinishes_NewCallsUnavailable_HealthNotServing_ExitsZero()
    {
        using var client = LeaseClient.Create(_server.Address);
        await client.AddLeaseAsync("writer", "/drain/wal").DefaultTimeout();
        var block = await client.AddBlockAsync("writer", "/drain/wal").DefaultTimeout();
        await Simulator.WriteAsync(client, block, 32, finalize: true);
        await Simulator.PauseAsync(client, block.Block.Locations[0]); // Its replica report takes the whole call timeout.
        using var watch = Health.StartWatch(client.CallInvoker);
        (await watch.NextAsync()).Should().Be(ServingStatus.Serving);

        var elapsed = Stopwatch.StartNew();
        var inFlight = client.RemoveLeaseAsync("writer", "/drain/wal");

        // Ordering barrier: a call sent after the close on the same HTTP/2 connection has been
        // answered, so the close's request reached the server (and passed its draining check,
        // which runs as the stream starts) before the signal; it now waits on the paused DataNode.
        (await client.CheckHealthAsync().DefaultTimeout()).Should().Be(ServingStatus.Serving);
        inFlight.IsCompleted.Should().BeFalse("the close waits for the paused DataNode");
        _server.Terminate();

        (await watch.NextAsync()).Should().Be(ServingStatus.NotServing, "health goes NOT_SERVING as the drain starts");
        (await FluentActions.Awaiting(watch.NextAsync).Should().ThrowAsync<InvalidOperationException>("Watch streams end")).WithMessage("*ended*");
        var rejected = await FluentActions.Awaiting(() => client.GetLeaseAsync("/drain/wal")).Should().ThrowAsync<LeaseUnavailableException>("a new call while draining");
        output.WriteLine($"new call: {rejected.Which.Status}");

        (await inFlight.DefaultTimeout()).Should().BeTrue("the in-flight close finishes: two replicas are FINALIZED");
        elapsed.Elapsed.Should().BeGreaterThanOrEqualTo(CallTimeout - TimeSpan.FromMilliseconds(100));
        (await _server.WaitForExitAsync()).Should().Be(0, _server.Output);
    }
}
