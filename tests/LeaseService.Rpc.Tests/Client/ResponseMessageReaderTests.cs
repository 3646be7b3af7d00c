using LeaseService.Rpc.Client.Internal;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

/// <summary>The frame reader on its own, over streams that hand out bytes in chosen chunk sizes.</summary>
public sealed class ResponseMessageReaderTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4096)]
    [InlineData(5000)]
    [InlineData(int.MaxValue)]
    public async Task ReadMessageAsync_AnyChunking_ReturnsEveryMessageInOrder(int chunk)
    {
        // Sizes chosen to cross the 4 KiB initial buffer, force compaction and growth.
        int[] sizes = [0, 1, 100, 4090, 4091, 5000, 3, 20_000, 0, 7];
        var body = sizes.SelectMany(size => Wire.Frame(TestMethods.Message(new string('a', size)))).ToArray();
        using var reader = new ResponseMessageReader(new ChunkedStream(body, chunk), int.MaxValue, encoding: null);

        var lengths = new List<int>();
        while (await reader.ReadMessageAsync(CancellationToken.None).DefaultTimeout())
        {
            lengths.Add(Health.V1.HealthCheckRequest.Parser.ParseFrom(reader.Payload).Service.Length);
        }

        lengths.Should().Equal(sizes);
    }

    [Fact]
    public async Task ReadMessageAsync_EmptyBody_ReturnsFalse()
    {
        using var reader = new ResponseMessageReader(new ChunkedStream([], 1), 100, encoding: null);

        (await reader.ReadMessageAsync(CancellationToken.None).DefaultTimeout()).Should().BeFalse();
    }

    [Theory]
    [InlineData(new byte[] { 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 0x0A })]
    public async Task ReadMessageAsync_BodyEndsInsideFrame_ThrowsInternal(byte[] body)
    {
        using var reader = new ResponseMessageReader(new ChunkedStream(body, 1), 100, encoding: null);

        var read = () => reader.ReadMessageAsync(CancellationToken.None).AsTask();

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Internal);
    }

    [Theory]
    [InlineData(101u, 100)]
    [InlineData(uint.MaxValue, int.MaxValue)]
    [InlineData((uint)int.MaxValue, int.MaxValue)]
    public async Task ReadMessageAsync_LengthOverLimit_ThrowsResourceExhaustedFromHeaderAlone(uint length, int limit)
    {
        // Only the header is there: the reader must decide before waiting for the payload.
        using var reader = new ResponseMessageReader(new ChunkedStream(Wire.Header(length), 5, endless: true), limit, encoding: null);

        var read = () => reader.ReadMessageAsync(CancellationToken.None).AsTask();

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
    }

    [Theory]
    [InlineData(null, StatusCode.Internal)]
    [InlineData("identity", StatusCode.Internal)]
    [InlineData("gzip", StatusCode.Unimplemented)]
    public async Task ReadMessageAsync_CompressedFlag_FailsByEncoding(string? encoding, StatusCode expected)
    {
        using var reader = new ResponseMessageReader(new ChunkedStream(Wire.Header(0, flag: 1), 5), 100, encoding);

        var read = () => reader.ReadMessageAsync(CancellationToken.None).AsTask();

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(expected);
    }

    /// <summary>Returns at most <c>chunk</c> bytes per read; optionally never ends (reads then hang until cancelled).</summary>
    private sealed class ChunkedStream(byte[] data, int chunk, bool endless = false) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == data.Length && endless)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var count = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _position);
            data.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
