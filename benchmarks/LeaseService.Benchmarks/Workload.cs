using LeaseService.Core;
using LeaseService.Core.DataNodes;
using LeaseService.Core.Storage;

namespace LeaseService.Benchmarks;

/// <summary>Builds lease managers filled with a given number of holders and files.</summary>
internal static class Workload
{
    /// <summary>A cluster with no DataNodes: files without blocks close at once.</summary>
    public static IDataNodeCoordinator NoDataNodesInstance { get; } = new NoDataNodes();

    public static LeaseManager Create(TimeSpan? hardLimit = null, ILeaseStore? store = null) => new(
        new LeaseManagerOptions { SoftLimit = TimeSpan.FromSeconds(60), HardLimit = hardLimit ?? TimeSpan.FromHours(1) },
        NoDataNodesInstance,
        TimeProvider.System,
        store: store);

    public static string[] Holders(int count)
    {
        var holders = new string[count];
        for (var i = 0; i < count; i++)
        {
            holders[i] = $"DFSClient_NONMAPREDUCE_{i:D7}_1";
        }

        return holders;
    }

    /// <summary>Opens <paramref name="files"/> files spread evenly over <paramref name="holders"/>.</summary>
    public static void Fill(LeaseManager manager, string[] holders, int files)
    {
        for (var i = 0; i < files; i++)
        {
            var holder = holders[i % holders.Length];
            var outcome = manager.AddLeaseAsync(holder, $"/warehouse/part-{i % 1000:D4}/file-{i:D8}.parquet", "worker-17.example.internal").AsTask().GetAwaiter().GetResult();
            if (!outcome.IsOk)
            {
                throw new InvalidOperationException(outcome.ToString());
            }
        }
    }

    /// <summary>A cluster with no DataNodes: files without blocks close at once.</summary>
    private sealed class NoDataNodes : IDataNodeCoordinator
    {
        public IReadOnlyList<DataNodeStatus> GetDataNodes() => [];

        public ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
            => ValueTask.FromResult<IReadOnlyList<ReplicaReport>>([]);

        public ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
            => throw new InvalidOperationException("No DataNodes in benchmarks.");
    }
}
