using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using Grpc.Core;
using LeaseService.Testing;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests;

/// <summary>
/// The server is killed (or restarted gracefully) and started again on the same port; a container
/// through podman, on the same data volume. State is in memory only, so nothing survives (README,
/// "What survives a restart"); this asserts exactly that.
/// </summary>
public sealed class RestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private IServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync(new Dictionary<string, string>());

    public async Task DisposeAsync()
    {
        output.WriteLine(_server.Output);
        await _server.DisposeAsync();
    }

    [OwnProcessFact]
    public async Task KilledAndRestarted_NothingSurvives_NewGrantsWork()
    {
        await RestartAndCheckNothingSurvivesAsync(async () =>
        {
            await _server.KillAsync(); // SIGKILL: a crash, no drain (podman kill).
            await _server.StartAgainAsync(); // A container: a new one on the same volume.
        });
    }

    [OwnProcessFact]
    public async Task RestartedGracefully_NothingSurvives_NewGrantsWork()
    {
        await RestartAndCheckNothingSurvivesAsync(_server.RestartAsync); // SIGTERM, exit, start (podman restart).
    }

    private async Task RestartAndCheckNothingSurvivesAsync(Func<Task> restart)
    {
        var address = _server.Address;
        using var client = LeaseClient.Create(address);
        var lease = await client.AddLeaseAsync("writer", "/restart/wal", "host-a").DefaultTimeout();
        var block = await client.AddBlockAsync("writer", "/restart/wal").DefaultTimeout();
        await Simulator.WriteAsync(client, block, 32, finalize: true);

        await restart();
        _server.Address.Should().Be(address);

        // The same client, reconnecting to the new process.
        (await client.CheckHealthAsync(Health.LeaseServiceName).DefaultTimeout()).Should().Be(ServingStatus.Serving);
        await FluentActions.Awaiting(() => client.GetLeaseAsync("/restart/wal")).Should().ThrowAsync<LeaseNotFoundException>("leases are not kept");
        await FluentActions.Awaiting(() => client.RenewLeaseAsync("writer")).Should().ThrowAsync<LeaseNotFoundException>("the holder must treat its lease as lost");
        await FluentActions.Awaiting(() => client.GetFileAsync("/restart/wal")).Should().ThrowAsync<LeaseNotFoundException>("the namespace is not kept");
        (await client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
        (await client.CallAsync(o => client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = block.Block.BlockId }, o)).DefaultTimeout())
            .Replicas.Should().BeEmpty("the simulated DataNodes start empty too");
        var staleWrite = await FluentActions.Awaiting(() => Simulator.WriteAsync(client, block, 8)).Should().ThrowAsync<LeaseServiceException>();
        staleWrite.Which.StatusCode.Should().Be(StatusCode.NotFound);

        var again = await client.AddLeaseAsync("writer", "/restart/wal", "host-a").DefaultTimeout();
        again.Holder.Should().Be("writer");
        again.Epoch.Should().BeGreaterThan(lease.Epoch, "epochs never repeat across restarts: the writer from before stays fenced");
        var newBlock = await client.AddBlockAsync("writer", "/restart/wal").DefaultTimeout();
        newBlock.Block.BlockId.Should().BeGreaterThan(block.Block.BlockId);
        newBlock.Block.GenerationStamp.Should().BeGreaterThan(block.Block.GenerationStamp);
        await FluentActions.Awaiting(() => Simulator.WriteAsync(client, block, 8)).Should().ThrowAsync<LeaseServiceException>("the old writer's block is not the new one");
    }

    [OwnProcessFact]
    public async Task DefaultConfiguration_TestClockIsUnimplemented()
    {
        using var client = LeaseClient.Create(_server.Address);

        var act = () => new Infrastructure.TestClock(client).NowAsync();

        (await act.Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.Unimplemented, "the manual clock is off unless Testing__ManualClock=true");
        _server.Output.Should().NotContain("TESTING MODE");
    }
}
