using LeaseService.Core.DataNodes;

namespace LeaseService.Core.Tests;

/// <summary>
/// A scripted coordinator for lease-manager tests that need no real DataNode behaviour: the
/// DataNodes it lists, the replicas it reports and the recovery answers are set by the test.
/// (Block recovery itself is tested against the simulated cluster.)
/// </summary>
internal sealed class TestDataNodes : IDataNodeCoordinator
{
    public List<DataNodeStatus> Nodes { get; } = [];

    public Dictionary<long, List<ReplicaReport>> Replicas { get; } = [];

    public List<BlockRecoveryCommand> Commands { get; } = [];

    /// <summary>Answers recovery commands; the default never answers (the command stays in flight).</summary>
    public Func<BlockRecoveryCommand, Task<BlockRecoveryResult>> Recover { get; set; } =
        _ => new TaskCompletionSource<BlockRecoveryResult>().Task;

    public static TestDataNodes None() => new();

    public static TestDataNodes Live(params string[] ids)
    {
        var nodes = new TestDataNodes();
        foreach (var id in ids)
        {
            nodes.Nodes.Add(new DataNodeStatus(id, true, 0));
        }

        return nodes;
    }

    public IReadOnlyList<DataNodeStatus> GetDataNodes() => [.. Nodes];

    public ValueTask<IReadOnlyList<ReplicaReport>> GetReplicasAsync(long blockId, IReadOnlyList<string> locations, CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyList<ReplicaReport>>(Replicas.TryGetValue(blockId, out var list) ? [.. list] : []);

    public async ValueTask<BlockRecoveryResult> RecoverBlockAsync(BlockRecoveryCommand command, CancellationToken cancellationToken)
    {
        lock (Commands)
        {
            Commands.Add(command);
        }

        return await Recover(command).WaitAsync(cancellationToken);
    }
}
