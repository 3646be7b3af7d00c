using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using Grpc.Core;
using LeaseService.Testing;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests;

/// <summary>
/// The server is killed (SIGKILL) or restarted gracefully, and started again on the same port and data
/// directory (a container: the same volume, through podman). Every
/// acknowledged change survives (README, "What survives a restart"), checked through the public
/// API only. The manual clock moves lease time, so the restart's fresh soft limit is exact.
/// </summary>
public sealed class RestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(10);
    private IServerHost _server = null!;

    /// <summary>The data directory (a process) or volume (a container) is the host's own, kept across restarts.</summary>
    private static Dictionary<string, string> Environment => new()
    {
        ["Testing__ManualClock"] = "true",
        ["Leases__SoftLimit"] = "00:00:10",
        ["Leases__HardLimit"] = "00:00:30",
        ["Leases__RecoveryTimeout"] = "00:00:20",
        ["DataNodes__CallTimeout"] = "00:00:02",
        ["DataNodes__RecoveryTimeout"] = "00:00:10",
    };

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync(Environment);

    public async Task DisposeAsync()
    {
        output.WriteLine(_server.Output);
        await _server.DisposeAsync();
    }

    [OwnProcessFact]
    public Task KilledAndRestarted_EveryAcknowledgedChangeSurvives() => RestartAndCheckEverythingSurvivesAsync(async () =>
    {
        await _server.KillAsync(); // SIGKILL: a crash, no drain (podman kill).
        await _server.StartAgainAsync(); // A container: a new one on the same volume.
    });

    [OwnProcessFact]
    public Task RestartedGracefully_EveryAcknowledgedChangeSurvives() => RestartAndCheckEverythingSurvivesAsync(() => _server.RestartAsync()); // SIGTERM, exit, start (podman restart).

    private async Task RestartAndCheckEverythingSurvivesAsync(Func<Task> restart)
    {
        var address = _server.Address;
        using var client = LeaseClient.Create(address);
        var clock = new Infrastructure.TestClock(client);

        // A takeover: the old holder passes the soft limit, another writer takes the path.
        await client.AddLeaseAsync("old-writer", "/r/takeover", "host-old").DefaultTimeout();
        await clock.AdvanceAsync(Soft + TimeSpan.FromSeconds(1));
        var takenOver = await client.AddLeaseAsync("new-writer", "/r/takeover", "host-new").DefaultTimeout();

        // A grant that stays open.
        var open = await client.AddLeaseAsync("writer-a", "/r/open", "host-a").DefaultTimeout();

        // Block allocation and commit, then release and close.
        await client.AddLeaseAsync("writer-b", "/r/closed", "host-b").DefaultTimeout();
        var closedBlock = await client.AddBlockAsync("writer-b", "/r/closed").DefaultTimeout();
        await Simulator.WriteAsync(client, closedBlock, 32, finalize: true);
        (await client.RemoveLeaseAsync("writer-b", "/r/closed").DefaultTimeout()).Should().BeTrue();

        // A block allocated and not yet written.
        await client.AddLeaseAsync("writer-d", "/r/uc", "host-d").DefaultTimeout();
        var ucBlock = await client.AddBlockAsync("writer-d", "/r/uc").DefaultTimeout();

        // A recovery in flight at the crash, reassigned to a recovery holder: its primary hangs.
        await client.AddLeaseAsync("writer-c", "/r/recovering", "host-c").DefaultTimeout();
        var recoveringBlock = await client.AddBlockAsync("writer-c", "/r/recovering").DefaultTimeout();
        await Simulator.WriteAsync(client, recoveringBlock, 16);
        foreach (var node in recoveringBlock.Block.Locations)
        {
            await Simulator.PauseAsync(client, node);
        }

        var recovering = await client.RecoverLeaseAsync("/r/recovering", "ops", force: true).DefaultTimeout();
        recovering.Closed.Should().BeFalse();

        // Deletes: a file open for write (its holder's lease on it goes) and a closed one.
        await client.AddLeaseAsync("writer-del", "/r/deleted-open", "host-f").DefaultTimeout();
        await client.AddBlockAsync("writer-del", "/r/deleted-open").DefaultTimeout();
        (await client.DeleteFileAsync("/r/deleted-open").DefaultTimeout()).Holder.Should().Be("writer-del");
        await client.AddLeaseAsync("writer-g", "/r/deleted-closed", "host-g").DefaultTimeout();
        (await client.RemoveLeaseAsync("writer-g", "/r/deleted-closed").DefaultTimeout()).Should().BeTrue();
        (await client.DeleteFileAsync("/r/deleted-closed").DefaultTimeout()).Holder.Should().BeEmpty();

        var filesBefore = new Dictionary<string, Contracts.V1.FileInfo>();
        foreach (var path in new[] { "/r/takeover", "/r/open", "/r/closed", "/r/uc", "/r/recovering" })
        {
            filesBefore[path] = await client.GetFileAsync(path).DefaultTimeout();
        }

        var highestEpoch = filesBefore.Values.Max(f => f.Epoch);
        var highestBlockId = filesBefore.Values.SelectMany(f => f.Blocks).Max(b => b.BlockId);

        await restart();
        _server.Address.Should().Be(address);
        _server.Output.Should().Contain("LeaseService storage: RocksDb at ");

        (await client.CheckHealthAsync(Health.LeaseServiceName).DefaultTimeout()).Should().Be(ServingStatus.Serving);

        // Grant and takeover: same holder, machine and epoch; the holder's renewals still work.
        var openAfter = await client.GetLeaseAsync("/r/open").DefaultTimeout();
        (openAfter.Holder, openAfter.ClientMachine, openAfter.Epoch).Should().Be(("writer-a", "host-a", open.Epoch));
        openAfter.SoftLimitRemaining.ToTimeSpan().Should().Be(Soft, "a restored lease counts as renewed when serving starts");
        (await client.RenewLeaseAsync("writer-a").DefaultTimeout()).LeasesRenewed.Should().Be(1);
        var takeoverAfter = await client.GetLeaseAsync("/r/takeover").DefaultTimeout();
        (takeoverAfter.Holder, takeoverAfter.Epoch).Should().Be(("new-writer", takenOver.Epoch));

        // Closed files stay closed with blocks and length; unchanged files read exactly as before.
        (await client.GetFileAsync("/r/closed").DefaultTimeout()).Should().Be(filesBefore["/r/closed"]);
        (await client.GetFileAsync("/r/uc").DefaultTimeout()).Should().Be(filesBefore["/r/uc"]);
        (await client.GetFileAsync("/r/open").DefaultTimeout()).Should().Be(filesBefore["/r/open"]);

        // Deleted files stay deleted; the former holder's calls on the path find nothing.
        await FluentActions.Awaiting(() => client.GetFileAsync("/r/deleted-open")).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => client.GetFileAsync("/r/deleted-closed")).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => client.AddBlockAsync("writer-del", "/r/deleted-open")).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => client.RenewLeaseAsync("writer-del")).Should().ThrowAsync<LeaseNotFoundException>();

        // The block allocated before the crash is the same block on retry (its answer may have been lost).
        (await client.AddBlockAsync("writer-d", "/r/uc").DefaultTimeout()).Block.Should().Be(ucBlock.Block);

        // The simulated DataNodes kept their replicas on their disks (DataNodes:DataDirectory,
        // under Storage:Path): the closed file's finalized replicas are all there.
        var closedReplicas = await Simulator.ReplicasAsync(client, closedBlock.Block.BlockId);
        closedReplicas.Replicas.Select(r => (r.DatanodeId, r.State, r.NumBytes)).Should().BeEquivalentTo(
            closedBlock.Block.Locations.Select(dn => (dn, Contracts.V1.ReplicaState.Finalized, 32UL)));

        // The recovery resumed at start-up with a new recovery id (the file's epoch) and finished
        // on the replicas the DataNodes kept: the 16 bytes written before the crash survive.
        await clock.WaitForRecoveriesAsync();
        var recoveredAfter = await client.GetFileAsync("/r/recovering").DefaultTimeout();
        recoveredAfter.UnderConstruction.Should().BeFalse("the resumed recovery closed it");
        recoveredAfter.Epoch.Should().BeGreaterThan(recovering.Lease.RecoveryId, "the resumed attempt has a new recovery id");
        var recoveredBlock = recoveredAfter.Blocks.Should().ContainSingle().Subject;
        (recoveredBlock.BlockId, recoveredBlock.NumBytes, recoveredBlock.State).Should().Be((recoveringBlock.Block.BlockId, 16UL, Contracts.V1.BlockState.Complete));
        (await Simulator.ReplicasAsync(client, recoveredBlock.BlockId)).Replicas
            .Should().OnlyContain(r => r.State == Contracts.V1.ReplicaState.Finalized && r.NumBytes == 16 && r.GenerationStamp == recoveredBlock.GenerationStamp);

        // Nobody may take the open path before a full soft limit from the restart.
        await clock.AdvanceAsync(Soft);
        var early = await FluentActions.Awaiting(() => client.AddLeaseAsync("thief", "/r/open", "host-x")).Should().ThrowAsync<LeaseServiceException>();
        early.Which.StatusCode.Should().Be(StatusCode.FailedPrecondition);

        // Counters continue above everything issued before: append to the closed file.
        var append = await client.AddLeaseAsync("appender", "/r/closed", "host-e").DefaultTimeout();
        append.Epoch.Should().BeGreaterThan(Math.Max(highestEpoch, recoveredAfter.Epoch));
        var appendBlock = await client.AddBlockAsync("appender", "/r/closed").DefaultTimeout();
        appendBlock.Block.BlockId.Should().BeGreaterThan(highestBlockId);
        appendBlock.Block.GenerationStamp.Should().BeGreaterThan(append.Epoch);
    }

    [OwnProcessFact]
    public async Task DefaultConfiguration_TestClockIsUnimplemented()
    {
        await using var server = await ServerHost.StartAsync(new Dictionary<string, string>());
        using var client = LeaseClient.Create(server.Address);

        var act = () => new Infrastructure.TestClock(client).NowAsync();

        (await act.Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.Unimplemented, "the manual clock is off unless Testing__ManualClock=true");
        server.Output.Should().NotContain("TESTING MODE");
    }
}
