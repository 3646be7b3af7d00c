using LeaseService.Core.DataNodes;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.DataNodes.Tests;

/// <summary>A simulated cluster on a fake clock, with short-hands for the tests.</summary>
internal sealed class TestCluster
{
    public const long BlockId = 1073741825;
    public const long BlockGs = 1001;

    public TestCluster(int dataNodes = 3, string? dataDirectory = null, long blockSize = 128L << 20)
    {
        Options = new SimulatedDataNodeClusterOptions { DataNodeCount = dataNodes, DataDirectory = dataDirectory, BlockSize = blockSize };
        Cluster = new SimulatedDataNodeCluster(Options, Time, NullLogger<SimulatedDataNodeCluster>.Instance);
    }

    public FakeTimeProvider Time { get; } = new();

    public SimulatedDataNodeClusterOptions Options { get; }

    public SimulatedDataNodeCluster Cluster { get; }

    public IReadOnlyList<string> All => Cluster.DataNodeIds;

    /// <summary>Bytes 0, 1, 2, ... so a truncated replica is recognisably a prefix.</summary>
    public static byte[] Bytes(int count) => Enumerable.Range(0, count).Select(i => (byte)(i % 251)).ToArray();

    public async Task<SimulatedWriteResult> WriteAsync(
        int bytes,
        long gs = BlockGs,
        IReadOnlyList<string>? pipeline = null,
        int stopAfter = 0,
        IReadOnlyList<long>? lengths = null,
        bool finalize = false,
        long blockId = BlockId)
    {
        var result = await Cluster.WriteAsync(
            new PipelineWrite(pipeline ?? All, blockId, gs, Bytes(bytes), stopAfter, lengths, finalize)).DefaultTimeout();
        return result;
    }

    /// <summary>Writes and insists it worked.</summary>
    public async Task WriteOkAsync(int bytes, long gs = BlockGs, IReadOnlyList<string>? pipeline = null, int stopAfter = 0, IReadOnlyList<long>? lengths = null, bool finalize = false)
    {
        var result = await WriteAsync(bytes, gs, pipeline, stopAfter, lengths, finalize);
        result.Status.Should().Be(SimulatedWriteStatus.Written, result.Message);
    }

    public static BlockRecoveryCommand Command(long recoveryId, string primary, IReadOnlyList<string> locations, long gs = BlockGs) =>
        new(BlockId, gs, recoveryId, primary, locations);

    public Task<BlockRecoveryResult> RecoverAsync(long recoveryId, string primary = "dn-1", IReadOnlyList<string>? locations = null, long gs = BlockGs) =>
        Cluster.RecoverBlockAsync(Command(recoveryId, primary, locations ?? All, gs), CancellationToken.None).AsTask();

    public SimulatedReplica Replica(string dataNodeId) =>
        Cluster.ListReplicas(BlockId).Single(r => r.DataNodeId == dataNodeId);

    public SimulatedReplica? ReplicaOrNull(string dataNodeId) =>
        Cluster.ListReplicas(BlockId).SingleOrDefault(r => r.DataNodeId == dataNodeId);

    public void Seed(string dataNodeId, ReplicaState state, int bytes, long gs = BlockGs, long recoveryId = 0, ReplicaState originalState = ReplicaState.Rbw) =>
        Cluster.SeedReplica(dataNodeId, BlockId, state, gs, Bytes(bytes), recoveryId, originalState);
}
