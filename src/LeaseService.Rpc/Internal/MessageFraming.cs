using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace LeaseService.Rpc.Internal;

/// <summary>
/// The gRPC Length-Prefixed-Message:
/// <code>
/// +--------+--------------------------------+-------------------------+
/// | 1 byte | 4 bytes, unsigned, big-endian  | Length bytes            |
/// | flag   | Length                         | serialized protobuf     |
/// +--------+--------------------------------+-------------------------+
/// </code>
/// Flag 0: not compressed; 1: compressed with the call's grpc-encoding; anything else is a
/// protocol error. DATA frame boundaries are unrelated to message boundaries, so parsing works
/// on a <see cref="ReadOnlySequence{T}"/> and returns false on partial input.
/// </summary>
internal static class MessageFraming
{
    public const int HeaderSize = 5;

    /// <summary>
    /// Reads the 5-byte header if it is all there. Does not consume anything; the caller checks
    /// the length against its limit before it waits for (or buffers) the body.
    /// </summary>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out byte flag, out uint length)
    {
        if (buffer.Length < HeaderSize)
        {
            flag = 0;
            length = 0;
            return false;
        }

        var first = buffer.FirstSpan;
        if (first.Length >= HeaderSize)
        {
            flag = first[0];
            length = BinaryPrimitives.ReadUInt32BigEndian(first.Slice(1));
            return true;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        flag = header[0];
        length = BinaryPrimitives.ReadUInt32BigEndian(header.Slice(1));
        return true;
    }

    /// <summary>Writes one uncompressed message with its prefix into <paramref name="writer"/>.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var span = writer.GetSpan(HeaderSize + size);
        span[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(span.Slice(1), (uint)size);
        if (size > 0)
        {
            message.WriteTo(span.Slice(HeaderSize, size));
        }

        writer.Advance(HeaderSize + size);
    }

    /// <summary>Serializes one uncompressed message with its prefix into a new array.</summary>
    public static byte[] ToFramedArray(IMessage message)
    {
        var size = message.CalculateSize();
        var bytes = new byte[HeaderSize + size];
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)size);
        if (size > 0)
        {
            message.WriteTo(bytes.AsSpan(HeaderSize, size));
        }

        return bytes;
    }
}
