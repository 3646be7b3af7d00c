using Google.Protobuf;
using LeaseService.Contracts.V1;
using LeaseService.Server.Rpc;
using LeaseService.Testing;
using static LeaseService.Testing.WireFields;
using FileInfo = LeaseService.Contracts.V1.FileInfo;

namespace LeaseService.Server.Tests.Input;

/// <summary>
/// <see cref="Utf8FieldValidator"/> on raw encodings, each checked against what Google.Protobuf's
/// parser makes of the same bytes: valid input parses to the same strings, malformed input is
/// refused by both.
/// </summary>
public sealed class Utf8FieldValidatorTests
{
    public static TheoryData<string, byte[]> InvalidHolders => new()
    {
        { "0xFF", Bytes("w", 0xFF) },
        { "0xFE", Bytes("w", 0xFE) },
        { "lone continuation byte", Bytes("w", 0x80) },
        { "overlong 2-byte '/'", Bytes("w", 0xC0, 0xAF) },
        { "overlong 3-byte '/'", Bytes("w", 0xE0, 0x80, 0xAF) },
        { "overlong 4-byte '/'", Bytes("w", 0xF0, 0x80, 0x80, 0xAF) },
        { "overlong NUL", Bytes("w", 0xC0, 0x80) },
        { "lone high surrogate U+D800", Bytes("w", 0xED, 0xA0, 0x80) },
        { "lone low surrogate U+DC00", Bytes("w", 0xED, 0xB0, 0x80) },
        { "surrogate pair encoded as CESU-8", Bytes("w", 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80) },
        { "truncated 2-byte at the end", Bytes("w", 0xC3) },
        { "truncated 3-byte at the end", Bytes("w", 0xE4, 0xB8) },
        { "truncated 4-byte at the end", Bytes("w", 0xF0, 0x9F, 0x98) },
        { "truncated 3-byte in the middle", [.. Bytes("w", 0xE4, 0xB8), .. Utf8("x")] },
        { "above U+10FFFF", Bytes("w", 0xF4, 0x90, 0x80, 0x80) },
        { "5-byte form", Bytes("w", 0xF8, 0x88, 0x80, 0x80, 0x80) },
    };

    [Theory]
    [MemberData(nameof(InvalidHolders))]
    public void InvalidUtf8Holder_NamesTheField(string because, byte[] holder)
    {
        var request = Message((1, holder), (2, Utf8("/a")));

        Check<AddLeaseRequest>(request, out var field).Should().Be(Utf8Check.InvalidUtf8, because);
        field.Should().Be("holder");
    }

    [Theory]
    [InlineData("ascii-writer")]
    [InlineData("é")]                      // 2 bytes
    [InlineData("中文/路径")]               // 3 bytes
    [InlineData("emoji 😀 writer")]        // 4 bytes (a surrogate pair in UTF-16)
    [InlineData("\U0010FFFF")]             // the largest code point
    [InlineData("\uFFFD")]                 // U+FFFD itself, properly encoded, is valid
    [InlineData("nul \0 inside")]
    [InlineData("")]
    public void ValidMultiByte_Valid_AndParsesToTheSameString(string holder)
    {
        var request = Message((1, Utf8(holder)), (2, Utf8("/ü/a")), (3, Utf8("höst")));

        Check<AddLeaseRequest>(request, out var field).Should().Be(Utf8Check.Valid);
        field.Should().BeNull();
        var parsed = AddLeaseRequest.Parser.ParseFrom(request);
        parsed.Holder.Should().Be(holder);
        parsed.Path.Should().Be("/ü/a");
    }

    [Theory]
    [InlineData(2, "path")]
    [InlineData(3, "client_machine")]
    public void InvalidOtherField_NamesIt(int number, string name)
    {
        var request = Message((1, Utf8("w")), (number, Bytes("x", 0xFF)));

        Check<AddLeaseRequest>(request, out var field).Should().Be(Utf8Check.InvalidUtf8);
        field.Should().Be(name);
    }

    [Fact]
    public void RepeatedOccurrence_LaterOneInvalid_Caught()
    {
        // A non-repeated field sent twice: the parser keeps the last one, so every occurrence counts.
        var request = Message((1, Utf8("fine")), (1, Bytes("w", 0xFF)));

        Check<RenewLeaseRequest>(request, out var field).Should().Be(Utf8Check.InvalidUtf8);
        field.Should().Be("holder");
    }

    [Fact]
    public void NestedRepeatedMessage_InvalidString_NamedThroughTheParent()
    {
        // ListLeasesResponse.leases (repeated LeaseInfo): the second entry's holder is invalid.
        var good = Message((1, Utf8("/a")), (2, Utf8("w")));
        var bad = Message((1, Utf8("/b")), (2, Bytes("w", 0xFE)));
        var response = Message((1, good), (1, bad), (2, Utf8("token")));

        Check<ListLeasesResponse>(response, out var field).Should().Be(Utf8Check.InvalidUtf8);
        field.Should().Be("leases.holder");
    }

    [Fact]
    public void TwoLevelsDeep_RepeatedString_NamedWithItsPath()
    {
        // FileInfo.blocks (repeated Block) . locations (repeated string): the second location is invalid.
        var block = Message((5, Utf8("dn-1")), (5, Bytes("dn-", 0xED, 0xA0, 0x80)));
        var file = Message((1, Utf8("/f")), (5, block));

        Check<FileInfo>(file, out var field).Should().Be(Utf8Check.InvalidUtf8);
        field.Should().Be("blocks.locations");
    }

    [Fact]
    public void NestedAllValid_Valid()
    {
        var block = Message((5, Utf8("dn-1")), (5, Utf8("dn-ü")));
        var file = Message((1, Utf8("/f")), (4, Utf8("wrïter")), (5, block), (5, block));

        Check<FileInfo>(file, out _).Should().Be(Utf8Check.Valid);
        FileInfo.Parser.ParseFrom(file).Blocks.Should().HaveCount(2).And.OnlyContain(b => b.Locations[1] == "dn-ü");
    }

    [Fact]
    public void UnknownFields_Untouched()
    {
        // An unknown length-delimited field, an unknown group and a declared string sent as a varint
        // (which the parser keeps as an unknown field): none is a string the service reads.
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Utf8("/known")));
        output.WriteTag(99, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Bytes("x", 0xFF)));
        output.WriteTag(98, WireFormat.WireType.StartGroup);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(Bytes("x", 0xC0, 0xAF)));
        output.WriteTag(98, WireFormat.WireType.EndGroup);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteUInt64(12345);
        output.WriteTag(97, WireFormat.WireType.Fixed32);
        output.WriteFixed32(7);
        output.WriteTag(96, WireFormat.WireType.Fixed64);
        output.WriteFixed64(7);
        output.Flush();
        var request = buffer.ToArray();

        Check<GetLeaseRequest>(request, out var field).Should().Be(Utf8Check.Valid);
        field.Should().BeNull();
        var parsed = GetLeaseRequest.Parser.ParseFrom(request);
        parsed.Path.Should().Be("/known");
        parsed.ToByteArray().Should().Equal(request, "unknown fields are kept byte for byte");
    }

    [Fact]
    public void BytesField_AnyBytes_Valid()
    {
        // WriteBlockRequest.data is bytes, not string: never checked.
        var request = new WriteBlockRequest { BlockId = 1, Data = ByteString.CopyFrom(0xFF, 0xFE, 0xC0, 0xAF), Finalize = true };
        request.ReplicaLengths.Add([1, 2, 3]);

        Check<WriteBlockRequest>(request.ToByteArray(), out _).Should().Be(Utf8Check.Valid);
    }

    public static TheoryData<string, byte[]> MalformedMessages => new()
    {
        { "length beyond the end", [0x0A, 0x05, (byte)'a'] },
        { "length that overflows", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F] },
        { "truncated varint value", [0x08, 0x80] },
        { "varint longer than 10 bytes", [0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01] },
        { "truncated tag", [0x80] },
        { "field number 0", [0x02, 0x00] },
        { "wire type 6", [0x0E, 0x00] },
        { "wire type 7", [0x0F, 0x00] },
        { "truncated fixed32", [0x0D, 0x01, 0x02] },
        { "truncated fixed64", [0x09, 0x01, 0x02, 0x03, 0x04] },
        { "end group without a start", [0x0C] },
        { "unterminated group", [0x0B, 0x08, 0x01] },
        { "group closed by another field's end", [0x0B, 0x14] },
        { "nested message truncated inside", [0x0A, 0x02, 0x0A, 0x05] },
    };

    [Theory]
    [MemberData(nameof(MalformedMessages))]
    public void Malformed_Malformed_AsTheParserSays(string because, byte[] message)
    {
        Check<ListLeasesResponse>(message, out var field).Should().Be(Utf8Check.Malformed, because);
        field.Should().BeNull();
        FluentActions.Invoking(() => ListLeasesResponse.Parser.ParseFrom(message)).Should().Throw<InvalidProtocolBufferException>(because);
    }

    [Fact]
    public void NestingBeyondTheRecursionLimit_Malformed()
    {
        // Unknown groups nested 101 deep: the parser's recursion limit (100) refuses them too.
        var depth = Utf8FieldValidator.MaxDepth + 1;
        byte[] message = [.. Enumerable.Repeat((byte)0x0B, depth), .. Enumerable.Repeat((byte)0x0C, depth)];

        Check<GetLeaseRequest>(message, out _).Should().Be(Utf8Check.Malformed);
        FluentActions.Invoking(() => GetLeaseRequest.Parser.ParseFrom(message)).Should().Throw<InvalidProtocolBufferException>();

        byte[] withinLimit = [.. Enumerable.Repeat((byte)0x0B, depth - 1), .. Enumerable.Repeat((byte)0x0C, depth - 1)];
        Check<GetLeaseRequest>(withinLimit, out _).Should().Be(Utf8Check.Valid);
    }

    [Fact]
    public void Empty_Valid()
        => Check<RenewLeaseRequest>([], out _).Should().Be(Utf8Check.Valid);

    private static Utf8Check Check<T>(byte[] message, out string? field) where T : IMessage<T>, new()
        => Utf8FieldValidator.Check(message, new T().Descriptor, out field);
}
