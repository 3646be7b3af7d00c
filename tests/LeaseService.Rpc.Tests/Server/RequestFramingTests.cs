using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>Raw request bodies over real HTTP/2: split, truncated, oversize, doubled, compressed.</summary>
public sealed class RequestFramingTests : IAsyncLifetime
{
    private const string Echo = "/test.v1.Test/Echo";
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MessageSplitIntoOneByteDataFrames_IsParsed()
    {
        var frame = GrpcTestClient.Frame(new StringValue { Value = "split across many frames" });
        var chunks = frame.Select(b => new[] { b }).ToArray();

        var result = await _server.Client.SendAsync(Echo, new ChunkedContent(chunks)).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
        result.OnlyMessage(StringValue.Parser).Value.Should().Be("split across many frames");
    }

    [Fact]
    public async Task HeaderAndPayloadInSeparateFrames_ThenEmptyEndStream_IsParsed()
    {
        var frame = GrpcTestClient.Frame(new StringValue { Value = "two writes" });

        var result = await _server.Client.SendAsync(Echo, new ChunkedContent([frame[..3], frame[3..], []])).DefaultTimeout();

        result.OnlyMessage(StringValue.Parser).Value.Should().Be("two writes");
    }

    [Fact]
    public async Task BodyEndsInsideHeader_IsInternalIncompleteMessage()
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent([0, 0, 0])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
        result.Message.Should().Be("Incomplete message.");
        result.TrailersOnly.Should().BeTrue();
    }

    [Fact]
    public async Task BodyEndsInsidePayload_IsInternalIncompleteMessage()
    {
        var body = GrpcTestClient.Frame(0, new byte[100])[..55];

        var result = await _server.Client.SendAsync(Echo, new ChunkedContent([body[..20], body[20..]])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
        result.Message.Should().Be("Incomplete message.");
    }

    [Fact]
    public async Task EmptyBody_IsNotOk()
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent([])).DefaultTimeout();

        result.Status.Should().NotBe(StatusCode.OK);
        result.Status.Should().Be(StatusCode.Unimplemented, "a missing request message is a cardinality violation");
    }

    [Fact]
    public async Task TwoMessagesForUnary_IsNotOk()
    {
        var frame = GrpcTestClient.Frame(new StringValue { Value = "one" });

        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent([.. frame, .. frame])).DefaultTimeout();

        result.Status.Should().NotBe(StatusCode.OK);
        result.Status.Should().Be(StatusCode.Unimplemented);
        result.Messages.Should().BeEmpty();
    }

    [Fact]
    public async Task SecondMessageInALaterFrame_IsNotOk()
    {
        var frame = GrpcTestClient.Frame(new StringValue { Value = "one" });

        var result = await _server.Client.SendAsync(Echo, new ChunkedContent([frame, frame])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task InvalidProtobuf_IsInternal()
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent(GrpcTestClient.Frame(0, [0x0A, 0xFF, 0xFF, 0xFF]))).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
        result.Message.Should().Be("Failed to deserialize request message.");
    }

    [Fact]
    public async Task DeclaredLengthOverDefaultLimit_IsResourceExhaustedBeforeTheBodyIsSent()
    {
        // Only the 5-byte header goes out and the request stays open: the server must decide from the header alone.
        var content = new ChunkedContent([[0, 0x00, 0x40, 0x00, 0x01]], holdOpen: true); // 4 MiB + 1
        try
        {
            var result = await _server.Client.SendAsync(Echo, content).DefaultTimeout();

            result.Status.Should().Be(StatusCode.ResourceExhausted);
            result.TrailersOnly.Should().BeTrue();
        }
        finally
        {
            content.Release();
        }
    }

    [Fact]
    public async Task DeclaredLengthMaxUInt_IsResourceExhausted()
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent([0, 0xFF, 0xFF, 0xFF, 0xFF])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task CompressedFlagWithoutEncoding_IsInternal()
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent(GrpcTestClient.Frame(1, [0x0A, 0x01, 0x41]))).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task CompressedFlagWithIdentityEncoding_IsInternal()
    {
        var result = await _server.Client.SendAsync(
            Echo,
            new ByteArrayContent(GrpcTestClient.Frame(1, [0x0A, 0x01, 0x41])),
            r => r.Headers.TryAddWithoutValidation("grpc-encoding", "identity")).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task CompressedFlagWithUnsupportedEncoding_IsUnimplementedAndListsWhatIsAccepted()
    {
        var result = await _server.Client.SendAsync(
            Echo,
            new ByteArrayContent(GrpcTestClient.Frame(1, [0x0A, 0x01, 0x41])),
            r => r.Headers.TryAddWithoutValidation("grpc-encoding", "snappy")).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Unimplemented);
        result.Headers.GetValues("grpc-accept-encoding").Should().Equal("identity");
    }

    [Fact]
    public async Task UncompressedMessageWithEncodingHeader_IsAccepted()
    {
        var result = await _server.Client.SendAsync(
            Echo,
            new ByteArrayContent(GrpcTestClient.Frame(new StringValue { Value = "plain" })),
            r => r.Headers.TryAddWithoutValidation("grpc-encoding", "gzip")).DefaultTimeout();

        result.OnlyMessage(StringValue.Parser).Value.Should().Be("plain");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0xFF)]
    public async Task CompressedFlagAboveOne_IsInternal(byte flag)
    {
        var result = await _server.Client.SendAsync(Echo, new ByteArrayContent(GrpcTestClient.Frame(flag, [0x0A, 0x01, 0x41]))).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Internal);
        result.Message.Should().Be("Unexpected compressed flag value.");
    }
}

/// <summary>The receive limit, configured small so the boundary is cheap to test.</summary>
public sealed class MessageSizeLimitTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync(configure: o => o.MaxReceiveMessageSize = 100);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MessageExactlyAtLimit_IsAccepted()
    {
        var message = new StringValue { Value = new string('a', 98) }; // 1 tag + 1 length + 98 = 100 bytes
        message.CalculateSize().Should().Be(100);

        var result = await _server.Client.UnaryAsync("/test.v1.Test/Echo", message).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task MessageOneByteOverLimit_IsResourceExhausted()
    {
        var message = new StringValue { Value = new string('a', 99) };

        var result = await _server.Client.UnaryAsync("/test.v1.Test/Echo", message).DefaultTimeout();

        result.Status.Should().Be(StatusCode.ResourceExhausted);
    }
}
