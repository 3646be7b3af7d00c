using System.Buffers.Binary;
using System.Text;

namespace LeaseService.LoadGenerator.H2;

/// <summary>
/// The few pieces of HTTP/2 (RFC 9113) and HPACK (RFC 7541) a unary gRPC client needs to send:
/// frame headers, the connection preface, SETTINGS, WINDOW_UPDATE, PING acknowledgements, and one
/// request header block encoded without the dynamic table or Huffman coding, so it is the same
/// bytes for every call of a method and is built once.
/// </summary>
internal static class Http2Frames
{
    public const int HeaderLength = 9;

    public const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8;

    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8;

    public const ushort SettingsEnablePush = 0x2, SettingsMaxConcurrentStreams = 0x3, SettingsInitialWindowSize = 0x4;

    /// <summary>The largest flow-control window (2^31 - 1).</summary>
    public const int MaxWindow = int.MaxValue;

    /// <summary>The window every connection and stream starts with.</summary>
    public const int DefaultWindow = 65_535;

    private static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>Writes a frame header at <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, int length, byte type, byte flags, int streamId)
    {
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = type;
        destination[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], streamId & int.MaxValue);
    }

    /// <summary>
    /// The client's opening: the preface, SETTINGS (no server push, the largest stream window) and
    /// a WINDOW_UPDATE that opens the connection's window as far, so the server never waits for
    /// this client to grant more (it tops the connection window up as it reads, <see cref="WindowUpdateFrame"/>).
    /// </summary>
    public static byte[] Opening()
    {
        var bytes = new byte[Preface.Length + HeaderLength + 12 + HeaderLength + 4];
        Preface.CopyTo(bytes);
        var settings = bytes.AsSpan(Preface.Length);
        WriteHeader(settings, 12, Settings, 0, 0);
        BinaryPrimitives.WriteUInt16BigEndian(settings[9..], SettingsEnablePush);
        BinaryPrimitives.WriteUInt32BigEndian(settings[11..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(settings[15..], SettingsInitialWindowSize);
        BinaryPrimitives.WriteUInt32BigEndian(settings[17..], MaxWindow);
        WindowUpdateFrame(settings[21..], 0, MaxWindow - DefaultWindow);
        return bytes;
    }

    /// <summary>A WINDOW_UPDATE frame (13 bytes) at <paramref name="destination"/>.</summary>
    public static void WindowUpdateFrame(Span<byte> destination, int streamId, int increment)
    {
        WriteHeader(destination, 4, WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteInt32BigEndian(destination[HeaderLength..], increment & int.MaxValue);
    }

    /// <summary>
    /// The header block of a gRPC request to <paramref name="path"/> (e.g. /leases.v1.LeaseService/AddLease)
    /// at <paramref name="authority"/>: :method POST and :scheme http from the static table, the
    /// rest as literals without indexing, so no dynamic-table state is needed on either side.
    /// </summary>
    public static byte[] RequestHeaderBlock(string path, string authority)
    {
        var block = new List<byte>
        {
            0x83, // :method: POST (static index 3)
            0x86, // :scheme: http (static index 6)
        };
        LiteralWithIndexedName(block, 4, path); // :path
        LiteralWithIndexedName(block, 1, authority); // :authority
        LiteralWithIndexedName(block, 31, "application/grpc"); // content-type
        block.Add(0x00); // literal without indexing, new name
        String(block, "te");
        String(block, "trailers");
        return [.. block];
    }

    /// <summary>A literal header field without indexing whose name is static-table entry <paramref name="index"/> (RFC 7541, 6.2.2).</summary>
    private static void LiteralWithIndexedName(List<byte> block, int index, string value)
    {
        Integer(block, 0x00, 4, index);
        String(block, value);
    }

    /// <summary>A string literal, not Huffman-coded.</summary>
    private static void String(List<byte> block, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        Integer(block, 0x00, 7, bytes.Length);
        block.AddRange(bytes);
    }

    /// <summary>An HPACK integer with an N-bit prefix (RFC 7541, 5.1); <paramref name="flags"/> fills the bits above the prefix.</summary>
    private static void Integer(List<byte> block, byte flags, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(flags | value));
            return;
        }

        block.Add((byte)(flags | max));
        for (value -= max; value >= 128; value >>= 7)
        {
            block.Add((byte)((value & 0x7F) | 0x80));
        }

        block.Add((byte)value);
    }
}
