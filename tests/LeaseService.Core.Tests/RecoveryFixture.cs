using System.Diagnostics.Metrics;
using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Core.Tests;

/// <summary>A lease manager driving the simulated DataNode cluster, both on one fake clock.</summary>
internal sealed class RecoveryFixture
{
    public static readonly TimeSpan Soft = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Hard = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(90);

    public RecoveryFixture(int dataNodes = 3, int replication = 3, Meter? meter = null)
    {
        Cluster = new SimulatedDataNodeCluster(new SimulatedDataNodeClusterOptions { DataNodeCount = dataNodes }, Time, NullLogger<SimulatedDataNodeCluster>.Instance);
        Manager = new LeaseManager(
            new LeaseManagerOptions { SoftLimit = Soft, HardLimit = Hard, RecoveryTimeout = RecoveryTimeout, ReplicationFactor = replication },
            Cluster,
            Time,
            meter: meter);
    }

    public FakeTimeProvider Time { get; } = new();

    public SimulatedDataNodeCluster Cluster { get; }

    public LeaseManager Manager { get; }

    public long Open(string holder, string path) => Ok(Manager.AddLease(holder, path, "host")).Epoch;

    public async Task<AddBlockResult> AddBlockAsync(string holder, string path) => Ok(await Manager.AddBlockAsync(holder, path));

    /// <summary>Writes <paramref name="bytes"/> bytes through the block's pipeline, as a client would.</summary>
    public async Task WriteAsync(AddBlockResult block, int bytes, bool finalize = false, IReadOnlyList<long>? replicaLengths = null, int stopAfter = 0)
    {
        var result = await Cluster.WriteAsync(new SimulatedWrite(
            block.Block.Locations, block.Block.BlockId, block.Block.GenerationStamp, new byte[bytes], stopAfter, replicaLengths, finalize));
        result.Status.Should().Be(SimulatedWriteStatus.Written, result.Message);
    }

    /// <summary>Moves time and runs one monitor pass, then waits for the recoveries it started.</summary>
    public async Task<MonitorPassResult> PassAfterAsync(TimeSpan delta)
    {
        Time.Advance(delta);
        var pass = Manager.RunMonitorPass(TimeSpan.FromMilliseconds(25));
        await Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        return pass;
    }

    public async Task<RecoverResult> RecoverAsync(string path, string? requester = null, bool force = true)
    {
        var result = Ok(Manager.RecoverLease(path, requester, force));
        await Manager.WhenRecoveriesIdleAsync().DefaultTimeout();
        return result;
    }

    public FileView File(string path) => Ok(Manager.GetFile(path));

    public static T Ok<T>(Outcome<T> outcome)
    {
        outcome.IsOk.Should().BeTrue(outcome.ToString());
        return outcome.Value!;
    }
}
