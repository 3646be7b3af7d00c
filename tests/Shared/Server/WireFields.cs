using Google.Protobuf;

namespace LeaseService.Testing;

/// <summary>Protobuf encodings built field by field, for requests whose string fields hold bytes a well-behaved client never sends.</summary>
public static class WireFields
{
    /// <summary>A message of length-delimited fields (string, bytes or nested message), each holding exactly the given bytes.</summary>
    public static byte[] Message(params (int Number, byte[] Value)[] fields)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        foreach (var (number, value) in fields)
        {
            output.WriteTag(number, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(value));
        }

        output.Flush();
        return buffer.ToArray();
    }

    /// <summary>The UTF-8 bytes of <paramref name="text"/>.</summary>
    public static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    /// <summary><paramref name="prefix"/> in UTF-8 followed by <paramref name="raw"/> bytes, e.g. <c>Bytes("w", 0xFF)</c>.</summary>
    public static byte[] Bytes(string prefix, params byte[] raw) => [.. Utf8(prefix), .. raw];
}
