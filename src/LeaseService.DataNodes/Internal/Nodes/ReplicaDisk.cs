using System.Buffers.Binary;
using LeaseService.Core.DataNodes;

namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>
/// One simulated DataNode's disk: a directory with one file per replica, <c>blk_&lt;id&gt;</c>,
/// holding the replica's state, generation stamp, recovery id and bytes. In the model DataNodes
/// are separate machines that keep running while the NameNode (this process) restarts, so what a
/// node loads is exactly what it held: an RBW replica stays RBW and its writer can go on.
/// </summary>
/// <remarks>
/// Each file is written whole to a temporary name and renamed over the old one, so a crash
/// leaves a replica either as it was or as it became, never half-written. Nothing is fsynced:
/// the disk stands for another machine's, which a crash of this process does not touch; the
/// operating system's page cache outlives the process. Files that do not parse are reported and
/// left alone, as a DataNode reports a corrupt replica instead of serving it.
/// </remarks>
internal sealed class ReplicaDisk
{
    private const string Prefix = "blk_";
    private const string TempSuffix = ".tmp";
    private const int HeaderLength = 4 + 1 + 1 + 8 + 8 + 8;
    private static ReadOnlySpan<byte> Magic => "LSR1"u8;

    public ReplicaDisk(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
    }

    public string Directory { get; }

    /// <summary>Every replica on the disk; files that do not parse come back in <paramref name="unreadable"/>.</summary>
    public List<Replica> Load(List<string> unreadable)
    {
        var replicas = new List<Replica>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(TempSuffix, StringComparison.Ordinal))
            {
                // A write that never got renamed into place: it was never acknowledged.
                File.Delete(file);
                continue;
            }

            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var replica = TryDecode(name, File.ReadAllBytes(file));
            if (replica is null)
            {
                unreadable.Add(file);
            }
            else
            {
                replicas.Add(replica);
            }
        }

        return replicas;
    }

    /// <summary>Writes the replica's whole record, replacing the previous one atomically.</summary>
    public void Write(ReplicaImage image)
    {
        var path = FilePath(image.BlockId);
        var temp = path + TempSuffix;
        File.WriteAllBytes(temp, Encode(image));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Removes a replica's record (nothing when there is none).</summary>
    public void Delete(long blockId) => File.Delete(FilePath(blockId));

    internal static byte[] Encode(ReplicaImage image)
    {
        var bytes = new byte[HeaderLength + image.Data.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        span[4] = (byte)image.State;
        span[5] = (byte)image.OriginalState;
        BinaryPrimitives.WriteInt64LittleEndian(span[6..], image.GenerationStamp);
        BinaryPrimitives.WriteInt64LittleEndian(span[14..], image.RecoveryId);
        BinaryPrimitives.WriteInt64LittleEndian(span[22..], image.Data.Length);
        image.Data.Span.CopyTo(span[HeaderLength..]);
        return bytes;
    }

    internal static Replica? TryDecode(string fileName, ReadOnlySpan<byte> bytes)
    {
        if (!long.TryParse(fileName.AsSpan(Prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var blockId)
            || bytes.Length < HeaderLength
            || !bytes[..4].SequenceEqual(Magic))
        {
            return null;
        }

        var state = (ReplicaState)bytes[4];
        var original = (ReplicaState)bytes[5];
        var generationStamp = BinaryPrimitives.ReadInt64LittleEndian(bytes[6..]);
        var recoveryId = BinaryPrimitives.ReadInt64LittleEndian(bytes[14..]);
        var length = BinaryPrimitives.ReadInt64LittleEndian(bytes[22..]);
        if (!Enum.IsDefined(state) || !Enum.IsDefined(original) || generationStamp <= 0 || length != bytes.Length - HeaderLength)
        {
            return null;
        }

        return new Replica(blockId, state, generationStamp, bytes[HeaderLength..].ToArray())
        {
            RecoveryId = state == ReplicaState.Rur ? recoveryId : 0,
            OriginalState = state == ReplicaState.Rur ? original : state,
        };
    }

    private string FilePath(long blockId) => Path.Combine(Directory, Prefix + blockId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>A replica as it is to be written: taken under the node's lock, written outside it.</summary>
internal readonly record struct ReplicaImage(long BlockId, ReplicaState State, ReplicaState OriginalState, long GenerationStamp, long RecoveryId, ReadOnlyMemory<byte> Data);
