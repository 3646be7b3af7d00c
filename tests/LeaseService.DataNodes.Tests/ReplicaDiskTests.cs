using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Nodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>
/// DataNodes with a data directory keep their replicas on it: a new cluster over the same directory
/// (the server restarted; the DataNodes, separate machines in the model, did not) holds exactly
/// what the old one held, state, stamp, recovery and bytes.
/// </summary>
public sealed class ReplicaDiskTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "leaseservice-dn-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task NewCluster_OverTheSameDirectory_HoldsWhatTheOldOneHeld()
    {
        var before = new TestCluster(dataDirectory: _directory);
        await before.WriteOkAsync(100);                                        // RBW on all three.
        await before.WriteOkAsync(20, lengths: [20, 20, 5]);                   // dn-3 got less of it.
        await before.WriteAsync(7, finalize: true, blockId: TestCluster.BlockId + 1, pipeline: ["dn-1"]);
        before.Cluster.RestartDataNode("dn-2");                                // RBW -> RWR.

        var after = new TestCluster(dataDirectory: _directory);

        foreach (var blockId in new[] { TestCluster.BlockId, TestCluster.BlockId + 1 })
        {
            after.Cluster.ListReplicas(blockId).Should().Equal(before.Cluster.ListReplicas(blockId));
            foreach (var dn in after.All)
            {
                after.Cluster.ReadReplica(dn, blockId).Should().Equal(before.Cluster.ReadReplica(dn, blockId), "{0} keeps its bytes", dn);
            }
        }

        after.Replica("dn-1").State.Should().Be(ReplicaState.Rbw, "dn-1 never restarted: its writer may go on");
        after.Replica("dn-2").State.Should().Be(ReplicaState.Rwr);
        after.Replica("dn-3").NumBytes.Should().Be(105);
        (await after.WriteAsync(10, pipeline: ["dn-1"])).Status.Should().Be(SimulatedWriteStatus.Written, "the RBW replica takes more data after the reload");
    }

    [Fact]
    public async Task RecoveryResults_AreOnTheDisk()
    {
        var before = new TestCluster(dataDirectory: _directory);
        await before.WriteOkAsync(100, lengths: [100, 80, 60]);

        var result = await before.RecoverAsync(recoveryId: 1002);

        result.Should().BeOfType<BlockRecoveryCommitted>();
        var after = new TestCluster(dataDirectory: _directory);
        after.Cluster.ListReplicas(TestCluster.BlockId).Should().Equal(before.Cluster.ListReplicas(TestCluster.BlockId));
        after.Cluster.ListReplicas(TestCluster.BlockId).Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.GenerationStamp == 1002 && r.NumBytes == 60);
        after.Cluster.ReadReplica("dn-1", TestCluster.BlockId).Should().Equal(TestCluster.Bytes(60), "the truncation reached the disk");
    }

    [Fact]
    public void ReplicaUnderRecovery_KeepsItsRecoveryIdAcrossAReload()
    {
        var before = new TestCluster(dataDirectory: _directory);
        before.Seed("dn-1", ReplicaState.Rur, 10, recoveryId: 1002, originalState: ReplicaState.Rbw);

        var after = new TestCluster(dataDirectory: _directory);

        after.Replica("dn-1").Should().Be(new SimulatedReplica("dn-1", TestCluster.BlockId, ReplicaState.Rur, 10, TestCluster.BlockGs, 1002));
    }

    [Fact]
    public void Restart_DeletingATemporaryReplica_DeletesItsFile()
    {
        var before = new TestCluster(dataDirectory: _directory);
        before.Seed("dn-1", ReplicaState.Temporary, 10);
        Directory.GetFiles(Path.Combine(_directory, "dn-1")).Should().ContainSingle();

        before.Cluster.RestartDataNode("dn-1");

        Directory.GetFiles(Path.Combine(_directory, "dn-1")).Should().BeEmpty();
        new TestCluster(dataDirectory: _directory).ReplicaOrNull("dn-1").Should().BeNull();
    }

    [Fact]
    public async Task UnreadableFiles_AreLeftAlone_AndUnfinishedWritesDropped()
    {
        var before = new TestCluster(dataDirectory: _directory);
        await before.WriteOkAsync(10, pipeline: ["dn-1"]);
        var node = Path.Combine(_directory, "dn-1");
        File.WriteAllBytes(Path.Combine(node, "blk_42"), [1, 2, 3]);                                // Truncated header.
        File.WriteAllBytes(Path.Combine(node, $"blk_{TestCluster.BlockId + 1}.tmp"), [1, 2, 3]);      // A write never renamed into place.
        File.WriteAllText(Path.Combine(node, "README"), "not ours");

        var after = new TestCluster(dataDirectory: _directory);

        after.Cluster.ListDataNodes().Single(d => d.DataNodeId == "dn-1").ReplicaCount.Should().Be(1);
        after.Replica("dn-1").NumBytes.Should().Be(10);
        File.Exists(Path.Combine(node, "blk_42")).Should().BeTrue("a DataNode reports a corrupt replica, it does not delete it");
        File.Exists(Path.Combine(node, $"blk_{TestCluster.BlockId + 1}.tmp")).Should().BeFalse();
    }

    [Fact]
    public async Task DiskFailure_FailsTheWrite_AndTheNextWriteCatchesUp()
    {
        var t = new TestCluster(dataDirectory: _directory);
        var node = Path.Combine(_directory, "dn-1");
        Directory.Delete(node, recursive: true);
        File.WriteAllText(node, "a file where the DataNode's directory was"); // Even root cannot write under it.

        var failed = await t.WriteAsync(10, pipeline: ["dn-1"]);

        failed.Status.Should().Be(SimulatedWriteStatus.DataNodeUnavailable);
        failed.Message.Should().Contain("could not write its disk");

        File.Delete(node);
        Directory.CreateDirectory(node);
        await t.WriteOkAsync(5, pipeline: ["dn-1"]);
        new TestCluster(dataDirectory: _directory).Replica("dn-1").NumBytes.Should().Be(15, "the failed write's change was kept in memory and reached the disk with the next one");
    }

    [Fact]
    public void Encoding_RoundTrips_AndRejectsDamage()
    {
        var image = new ReplicaImage(7, ReplicaState.Rur, ReplicaState.Finalized, 1001, 1005, new byte[] { 1, 2, 3 });
        var bytes = ReplicaDisk.Encode(image);

        var replica = ReplicaDisk.TryDecode("blk_7", bytes)!;
        replica.Snapshot("dn-1").Should().Be(new SimulatedReplica("dn-1", 7, ReplicaState.Rur, 3, 1001, 1005));
        replica.OriginalState.Should().Be(ReplicaState.Finalized);
        replica.Data.ToArray().Should().Equal(1, 2, 3);

        ReplicaDisk.TryDecode("blk_x", bytes).Should().BeNull("the name carries the block id");
        ReplicaDisk.TryDecode("blk_7", bytes.AsSpan(0, bytes.Length - 1)).Should().BeNull("the length must match");
        var badMagic = bytes.ToArray();
        badMagic[0] = (byte)'X';
        ReplicaDisk.TryDecode("blk_7", badMagic).Should().BeNull();
        var badState = bytes.ToArray();
        badState[4] = 200;
        ReplicaDisk.TryDecode("blk_7", badState).Should().BeNull();
    }
}
