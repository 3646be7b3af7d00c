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

    public RecoveryFixture(int dataNodes = 3, int replication = 3, Meter? meter = null, int minReplication = 1, LeaseService.Core.Storage.ILeaseStore? store = null, int maxBlocksPerFile = 10 * 1024)
    {
        Cluster = new SimulatedDataNodeCluster(new SimulatedDataNodeClusterOptions { DataNodeCount = dataNodes }, Time, NullLogger<SimulatedDataNodeCluster>.Instance);
        Coordinator = new RecordingCoordinator(Cluster);
        Manager = new LeaseManager(
            new LeaseManagerOptions { SoftLimit = Soft, HardLimit = Hard, RecoveryTimeout = RecoveryTimeout, ReplicationFactor = replication, MinReplication = minReplication, MaxBlocksPerFile = maxBlocksPerFile },
            Coordinator,
            Time,
            meter: meter,
            store: store);
        if (store is not null)
        {
            Manager.LoadAsync().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        }
    }

    /// <summary>The cluster as the manager sees it, with the recovery commands it sent.</summary>
    public RecordingCoordinator Coordinator { get; }

    public FakeTimeProvider Time { get; } = new();

    public SimulatedDataNodeCluster Cluster { get; }

    public LeaseManager Manager { get; }

    public long Open(string holder, string path) => Ok(Manager.AddLease(holder, path, "host")).Epoch;

    public async Task<AddBlockResult> AddBlockAsync(string holder, string path) => Ok(await Manager.AddBlockAsync(holder, path));

    /// <summary>
    /// Writes <paramref name="bytes"/> bytes through the block's pipeline the way the server's
    /// WriteBlock does: the NameNode's fence, the DataNodes, the fence again.
    /// </summary>
    public async Task WriteAsync(AddBlockResult block, int bytes, bool finalize = false, IReadOnlyList<long>? replicaLengths = null, int stopAfter = 0)
    {
        var result = await TryWriteAsync(block, bytes, finalize, replicaLengths, stopAfter);
        result.Should().Be("Written");
    }

    /// <summary>
    /// Opens <paramref name="path"/> for <paramref name="holder"/> with one block of
    /// <paramref name="bytes"/> bytes in progress, on DataNodes that fail every replica recovery
    /// (InitReplicaRecovery): each recovery attempt on it fails.
    /// </summary>
    public async Task<AddBlockResult> OpenWithUnrecoverableBlockAsync(string holder, string path, int bytes)
    {
        Open(holder, path);
        var block = await AddBlockAsync(holder, path);
        await WriteAsync(block, bytes);
        foreach (var dn in block.Block.Locations)
        {
            Cluster.InjectFailure(dn, RecoveryStep.InitReplicaRecovery);
        }

        return block;
    }

    /// <summary>The server's write path; "Written", or the kind of refusal and why.</summary>
    public async Task<string> TryWriteAsync(AddBlockResult block, int bytes, bool finalize = false, IReadOnlyList<long>? replicaLengths = null, int stopAfter = 0)
    {
        var (id, stamp, epoch) = (block.Block.BlockId, block.Block.GenerationStamp, block.Epoch);
        var before = Manager.CheckWrite(id, stamp, epoch, hasData: bytes > 0);
        if (!before.IsOk)
        {
            return $"{before.Kind}: {before.Message}";
        }

        var result = await Cluster.WriteAsync(new PipelineWrite(before.Value!.Locations, id, stamp, new byte[bytes], stopAfter, replicaLengths, finalize));
        if (result.Status != SimulatedWriteStatus.Written)
        {
            return $"{result.Status}: {result.Message}";
        }

        var after = Manager.CheckWrite(id, stamp, epoch, hasData: false);
        return after.IsOk ? "Written" : $"{after.Kind}: {after.Message}";
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

/// <summary>Passes every call to the cluster and records the recovery commands sent.</summary>
internal sealed class RecordingCoordinator(IDataNodeCoordinator inner) : IDataNodeCoordinator
{
    private readonly List<BlockRecoveryCommand> _commands = [];

    /// <summary>Runs once inside the next GetDataNodes call (to interleave another operation).</summary>
    public Action? OnNextGetDataNodes { get; set; }

    /// <summary>Runs once before the next GetReplicasAsync answers (to interleave another operation).</summary>
    public Func<Task>? OnNextGetReplicas { get; set; }

    public IReadOnlyList<BlockRecoveryCommand> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public IReadOnlyList<DataNodeStatus> GetDataNodes()
    {
        var hook = OnNextGetDataNodes;
        OnNextGetDataNodes = null;
        hook?.Invoke();
        return inner.GetDataNodes();
    }

    public async ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
    {
        var replicas = await inner.GetReplicasAsync(blockId, locations, cancellationToken);
        var hook = OnNextGetReplicas;
        OnNextGetReplicas = null;
        if (hook is not null)
        {
            await hook();
        }

        return replicas;
    }

    public ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
    {
        lock (_commands)
        {
            _commands.Add(command);
        }

        return inner.RecoverBlockAsync(command, cancellationToken);
    }
}
