using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;

namespace LeaseService.Server.Rpc;

/// <summary>
/// Request compression (gzip, deflate: Grpc.AspNetCore's defaults) whose decompression refuses
/// data that is not valid in its encoding with <c>INTERNAL</c> "request message is not valid gzip
/// data", as other gRPC servers answer. Grpc.AspNetCore decompresses before any handler or
/// interceptor runs and reports the decoder's <see cref="InvalidDataException"/> as
/// <c>UNKNOWN</c> "Exception was thrown by handler.", logged as a handler error with its stack
/// trace: a client's corrupt request read as a bug of ours.
/// </summary>
internal sealed class CheckedDecompression(ICompressionProvider inner) : ICompressionProvider
{
    /// <summary>The providers Grpc.AspNetCore uses when none are configured, each checked.</summary>
    public static IList<ICompressionProvider> Defaults() =>
    [
        new CheckedDecompression(new GzipCompressionProvider(CompressionLevel.Fastest)),
        new CheckedDecompression(new DeflateCompressionProvider(CompressionLevel.Fastest)),
    ];

    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) => inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) => new CheckedStream(inner.CreateDecompressionStream(stream), EncodingName);

    /// <summary>Reads through the decoder; its <see cref="InvalidDataException"/> becomes the status.</summary>
    private sealed class CheckedStream(Stream decoder, string encoding) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return decoder.Read(buffer);
            }
            catch (InvalidDataException)
            {
                throw NotValid();
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await decoder.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException)
            {
                throw NotValid();
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                decoder.Dispose();
            }

            base.Dispose(disposing);
        }

        private RpcException NotValid() => new(new Status(StatusCode.Internal, $"request message is not valid {encoding} data"));
    }
}
