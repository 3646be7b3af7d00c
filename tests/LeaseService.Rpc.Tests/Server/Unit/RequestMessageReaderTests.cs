using System.IO.Pipelines;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.AspNetCore.Internal.Framing;
using LeaseService.Rpc.Internal;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server.Unit;

/// <summary>The request reader against an in-memory pipe: every framing outcome, deterministically.</summary>
public sealed class RequestMessageReaderTests
{
    private static readonly byte[] Hello = MessageFraming.ToFramedArray(new StringValue { Value = "hello" });

    [Fact]
    public async Task OneMessageThenEnd_ReturnsIt()
    {
        var message = await ReadAsync([Hello]).DefaultTimeout();

        message.Value.Should().Be("hello");
    }

    [Fact]
    public async Task MessageWrittenByteByByte_ReturnsIt()
    {
        var pipe = new Pipe();
        var read = Read(pipe.Reader).AsTask();
        foreach (var b in Hello)
        {
            await pipe.Writer.WriteAsync(new[] { b });
            read.IsCompleted.Should().BeFalse();
        }

        await pipe.Writer.CompleteAsync();

        (await read.DefaultTimeout()).Value.Should().Be("hello");
    }

    [Fact]
    public async Task OversizeLength_FailsFromTheHeaderAlone()
    {
        var pipe = new Pipe();
        var read = Read(pipe.Reader, maxSize: 10).AsTask();

        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 11 });

        (await FluentActions.Awaiting(() => read).Should().ThrowAsync<RpcException>().DefaultTimeout())
            .Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public async Task EndInsideFrame_IsInternal(int bytes)
    {
        var error = await FluentActions.Awaiting(() => ReadAsync([Hello[..bytes]])).Should().ThrowAsync<RpcException>().DefaultTimeout();

        error.Which.StatusCode.Should().Be(StatusCode.Internal);
        error.Which.Status.Detail.Should().Be("Incomplete message.");
    }

    [Fact]
    public async Task NoMessage_IsUnimplemented()
    {
        (await FluentActions.Awaiting(() => ReadAsync([])).Should().ThrowAsync<RpcException>().DefaultTimeout())
            .Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task SecondMessage_IsUnimplemented()
    {
        (await FluentActions.Awaiting(() => ReadAsync([Hello, Hello[..1]])).Should().ThrowAsync<RpcException>().DefaultTimeout())
            .Which.StatusCode.Should().Be(StatusCode.Unimplemented);
    }

    [Theory]
    [InlineData(1, null, StatusCode.Internal)]
    [InlineData(1, "identity", StatusCode.Internal)]
    [InlineData(1, "gzip", StatusCode.Unimplemented)]
    [InlineData(2, null, StatusCode.Internal)]
    [InlineData(128, "gzip", StatusCode.Internal)]
    public async Task CompressedFlag_Rejected(byte flag, string? encoding, StatusCode expected)
    {
        var frame = (byte[])Hello.Clone();
        frame[0] = flag;

        (await FluentActions.Awaiting(() => ReadAsync([frame], encoding)).Should().ThrowAsync<RpcException>().DefaultTimeout())
            .Which.StatusCode.Should().Be(expected);
    }

    [Fact]
    public async Task UnsupportedEncoding_IsTheTypeThatAddsAcceptEncoding()
    {
        var frame = (byte[])Hello.Clone();
        frame[0] = 1;

        await FluentActions.Awaiting(() => ReadAsync([frame], "snappy")).Should().ThrowAsync<UnsupportedEncodingException>().DefaultTimeout();
    }

    [Fact]
    public async Task InvalidProtobuf_IsInternal()
    {
        byte[] frame = [0, 0, 0, 0, 2, 0x0A, 0x05];

        (await FluentActions.Awaiting(() => ReadAsync([frame])).Should().ThrowAsync<RpcException>().DefaultTimeout())
            .Which.StatusCode.Should().Be(StatusCode.Internal);
    }

    private static async Task<StringValue> ReadAsync(byte[][] chunks, string? encoding = null)
    {
        var pipe = new Pipe();
        foreach (var chunk in chunks)
        {
            await pipe.Writer.WriteAsync(chunk);
        }

        await pipe.Writer.CompleteAsync();
        return await Read(pipe.Reader, encoding: encoding);
    }

    private static ValueTask<StringValue> Read(PipeReader reader, int maxSize = 1024, string? encoding = null)
        => RequestMessageReader.ReadSingleMessageAsync(reader, StringValue.Parser, maxSize, encoding, CancellationToken.None);
}
