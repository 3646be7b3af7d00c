using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>
/// One replica on one simulated DataNode: real bytes, so a recovery's truncation really drops data.
/// Mutable; only touched under its DataNode's lock.
/// </summary>
internal sealed class Replica(long blockId, ReplicaState state, long generationStamp, byte[] data)
{
    public long BlockId { get; } = blockId;

    public ReplicaState State { get; set; } = state;

    public long GenerationStamp { get; set; } = generationStamp;

    public byte[] Data { get; private set; } = data;

    public long NumBytes => Data.Length;

    /// <summary>While RUR: the recovery id that owns the replica; 0 otherwise.</summary>
    public long RecoveryId { get; set; }

    /// <summary>While RUR: the state the replica had before recovery wrapped it.</summary>
    public ReplicaState OriginalState { get; set; } = state;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var grown = new byte[Data.Length + bytes.Length];
        Data.CopyTo(grown, 0);
        bytes.CopyTo(grown.AsSpan(Data.Length));
        Data = grown;
    }

    public void Truncate(long length)
    {
        if (length < Data.Length)
        {
            Data = Data.AsSpan(0, checked((int)length)).ToArray();
        }
    }

    public SimulatedReplica Snapshot(string dataNodeId) =>
        new(dataNodeId, BlockId, State, NumBytes, GenerationStamp, State == ReplicaState.Rur ? RecoveryId : 0);
}
