using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>
/// One replica on one simulated DataNode: real bytes, so a recovery's truncation really drops data.
/// Mutable; only touched under its DataNode's lock. The bytes grow in place (the buffer doubles when
/// full), so a block written in n appends costs O(n) copying, not O(n²). Bytes once in
/// <see cref="Data"/> are never overwritten in place (appends go past them, a truncation takes a new
/// buffer), so a <see cref="Data"/> taken under the lock stays valid after it is released.
/// </summary>
internal sealed class Replica(long blockId, ReplicaState state, long generationStamp, byte[] data)
{
    private byte[] _buffer = data;
    private int _length = data.Length;

    public long BlockId { get; } = blockId;

    public ReplicaState State { get; set; } = state;

    public long GenerationStamp { get; set; } = generationStamp;

    /// <summary>The replica's bytes (a view of its buffer: see the class remarks).</summary>
    public ReadOnlyMemory<byte> Data => _buffer.AsMemory(0, _length);

    public long NumBytes => _length;

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

        var needed = checked(_length + bytes.Length);
        if (needed > _buffer.Length)
        {
            var grown = new byte[Math.Max(needed, (int)Math.Min(Array.MaxLength, 2L * _buffer.Length))];
            _buffer.AsSpan(0, _length).CopyTo(grown);
            _buffer = grown;
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    public void Truncate(long length)
    {
        if (length < _length)
        {
            // A new buffer: an image taken before may still be reading the old one's bytes.
            _buffer = _buffer.AsSpan(0, checked((int)length)).ToArray();
            _length = _buffer.Length;
        }
    }

    public SimulatedReplica Snapshot(string dataNodeId) =>
        new(dataNodeId, BlockId, State, NumBytes, GenerationStamp, State == ReplicaState.Rur ? RecoveryId : 0);
}
