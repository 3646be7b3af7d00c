using System.Buffers.Binary;
using System.Text;
using LeaseService.Core.Storage;

namespace LeaseService.Core.Internal.Storage;

/// <summary>
/// The schema of the store (format version <see cref="FormatVersion"/>). Three kinds of key:
/// <list type="bullet">
/// <item><c>meta/format</c>: the format version, a 32-bit little-endian integer.</item>
/// <item><c>meta/counters</c>: the highest generation stamp (epochs, recovery ids) and block id issued.</item>
/// <item><c>file/&lt;path&gt;</c>: one file's whole state: holder (empty when closed), client machine,
/// epoch, recovery attempts (-1 when no recovery runs), and its blocks with id, generation stamp,
/// length, state, recovery id and locations. Record version 1; version 2 (written only for a file
/// whose holder has an owning principal) adds the owner after the client machine. A version-1
/// record loads with no owner.</item>
/// </list>
/// Every record is the whole state of its key, so applying one twice changes nothing.
/// </summary>
internal static class RecordCodec
{
    public const int FormatVersion = 1;
    public const string FormatKey = "meta/format";
    public const string CountersKey = "meta/counters";
    public const string FilePrefix = "file/";

    private const byte RecordVersion = 1;

    /// <summary>A file record with the holder's owning principal (after the client machine).</summary>
    private const byte OwnedRecordVersion = 2;

    public static byte[] EncodeFormat()
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, FormatVersion);
        return bytes;
    }

    public static int DecodeFormat(ReadOnlySpan<byte> value)
        => value.Length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(value) : throw new FormatException($"{FormatKey} has {value.Length} bytes, expected 4");

    public static byte[] EncodeCounters(long generationStamp, long lastBlockId)
    {
        var bytes = new byte[17];
        bytes[0] = RecordVersion;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(1), generationStamp);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(9), lastBlockId);
        return bytes;
    }

    public static (long GenerationStamp, long LastBlockId) DecodeCounters(ReadOnlySpan<byte> value)
    {
        if (value.Length != 17 || value[0] != RecordVersion)
        {
            throw new FormatException($"{CountersKey} is malformed ({value.Length} bytes)");
        }

        return (BinaryPrimitives.ReadInt64LittleEndian(value[1..]), BinaryPrimitives.ReadInt64LittleEndian(value[9..]));
    }

    public static string FileKey(string path) => FilePrefix + path;

    /// <summary>
    /// The key of <paramref name="file"/>'s record, decoded straight from its UTF-8 path: one string
    /// allocated per record, where <c>FileKey(file.Path)</c> makes two (the monitor writes a record
    /// for every file it recovers).
    /// </summary>
    public static string FileKey(FileEntry file)
        => string.Create(FilePrefix.Length + Encoding.UTF8.GetCharCount(file.PathBytes), file, static (key, f) =>
        {
            FilePrefix.CopyTo(key);
            Encoding.UTF8.GetChars(f.PathBytes, key[FilePrefix.Length..]);
        });

    // One encoder per thread, reused: a record costs its result array only (a monitor pass encodes
    // thousands; a stream, a writer and a growing buffer each were most of what it allocated).
    [ThreadStatic]
    private static BinaryWriter? t_writer;

    /// <summary>
    /// The most bytes a block adds to its file's record: id, generation stamp, length, state,
    /// recovery id, location count, and each location's length-prefixed DataNode id.
    /// </summary>
    public static int BlockRecordBytes(int locations, int longestLocationBytes)
        => 8 + 8 + 8 + 1 + 8 + 4 + (locations * (1 + longestLocationBytes));

    /// <summary>Encodes the file's whole state. Called under the manager's lock (CPU only, no I/O).</summary>
    public static byte[] EncodeFile(FileEntry file)
    {
        var writer = t_writer ??= new BinaryWriter(new MemoryStream(256), Encoding.UTF8);
        var stream = (MemoryStream)writer.BaseStream;
        stream.SetLength(0);
        var owner = file.Lease?.Principal;
        writer.Write(owner is null ? RecordVersion : OwnedRecordVersion);
        writer.Write(file.Lease?.Holder ?? string.Empty);
        writer.Write(file.ClientMachine);
        if (owner is not null)
        {
            writer.Write(owner);
        }

        writer.Write(file.Epoch);
        writer.Write(file.Recovery?.Attempts ?? -1);
        var blocks = file.Blocks;
        writer.Write(blocks?.Count ?? 0);
        if (blocks is not null)
        {
            foreach (var block in blocks)
            {
                writer.Write(block.Id);
                writer.Write(block.GenerationStamp);
                writer.Write(block.NumBytes);
                writer.Write((byte)block.State);
                writer.Write(block.RecoveryId);
                writer.Write(block.Locations.Length);
                foreach (var location in block.Locations)
                {
                    writer.Write(location);
                }
            }
        }

        writer.Flush();
        var record = stream.ToArray();
        if (stream.Capacity > MaxKeptEncoderBytes)
        {
            t_writer = null; // A file with very many blocks: do not keep its buffer for the thread's life.
        }

        return record;
    }

    private const int MaxKeptEncoderBytes = 64 * 1024;

    /// <summary>Decodes a file record; <see cref="FormatException"/> when it is malformed.</summary>
    public static StoredFile DecodeFile(string path, ReadOnlyMemory<byte> value)
    {
        try
        {
            using var stream = new MemoryStream(value.ToArray(), writable: false);
            using var reader = new BinaryReader(stream, new UTF8Encoding(false, true));
            var version = reader.ReadByte();
            if (version is not (RecordVersion or OwnedRecordVersion))
            {
                throw new FormatException($"unknown record version {version}");
            }

            var holder = reader.ReadString();
            var machine = reader.ReadString();
            var owner = version == OwnedRecordVersion ? reader.ReadString() : null;
            var epoch = reader.ReadInt64();
            var attempts = reader.ReadInt32();
            var count = reader.ReadInt32();
            if (count < 0 || count > stream.Length)
            {
                throw new FormatException("bad block count");
            }

            var blocks = new StoredBlock[count];
            for (var i = 0; i < count; i++)
            {
                var id = reader.ReadInt64();
                var stamp = reader.ReadInt64();
                var bytes = reader.ReadInt64();
                var state = (BlockState)reader.ReadByte();
                if (!Enum.IsDefined(state))
                {
                    throw new FormatException("bad block state");
                }

                var recoveryId = reader.ReadInt64();
                var locationCount = reader.ReadInt32();
                if (locationCount < 0 || locationCount > stream.Length)
                {
                    throw new FormatException("bad location count");
                }

                var locations = new string[locationCount];
                for (var j = 0; j < locationCount; j++)
                {
                    locations[j] = reader.ReadString();
                }

                blocks[i] = new StoredBlock(id, stamp, bytes, state, recoveryId, locations);
            }

            if (stream.Position != stream.Length)
            {
                throw new FormatException("trailing bytes");
            }

            if (RepeatedBlock(blocks) is { } repeated)
            {
                throw new FormatException($"block {repeated} appears twice");
            }

            return new StoredFile(path, holder, machine, epoch, attempts, blocks, owner);
        }
        catch (Exception ex) when (ex is EndOfStreamException or DecoderFallbackException or IOException)
        {
            throw new FormatException(ex.Message, ex);
        }
    }

    /// <summary>
    /// A block id that appears twice in one file's record, or null. Ids are allocated in
    /// increasing order and appended, so a record's ids normally increase: checked in one pass,
    /// and only an out-of-order record pays for a set.
    /// </summary>
    private static long? RepeatedBlock(StoredBlock[] blocks)
    {
        var increasing = true;
        for (var i = 1; i < blocks.Length && increasing; i++)
        {
            increasing = blocks[i].Id > blocks[i - 1].Id;
        }

        if (increasing)
        {
            return null;
        }

        var seen = new HashSet<long>(blocks.Length);
        foreach (var block in blocks)
        {
            if (!seen.Add(block.Id))
            {
                return block.Id;
            }
        }

        return null;
    }
}

/// <summary>A file as read from the store.</summary>
internal sealed record StoredFile(string Path, string Holder, string ClientMachine, long Epoch, int RecoveryAttempts, StoredBlock[] Blocks, string? Owner = null);

/// <summary>A block as read from the store.</summary>
internal sealed record StoredBlock(long Id, long GenerationStamp, long NumBytes, BlockState State, long RecoveryId, string[] Locations);
