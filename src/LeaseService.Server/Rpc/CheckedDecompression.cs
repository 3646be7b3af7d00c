using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;

namespace LeaseService.Server.Rpc;

/// <summary>
/// Request compression (gzip, deflate: Grpc.AspNetCore's defaults) whose decompression refuses
/// data that is not a whole stream of its encoding with <c>INTERNAL</c> "request message is not
/// valid gzip data", as other gRPC servers answer, so a damaged request changes nothing.
/// </summary>
/// <remarks>
/// Two gaps of the decoders this closes. Corrupt data: the decoder's
/// <see cref="InvalidDataException"/>, thrown while Grpc.AspNetCore reads the request (before any
/// handler or interceptor), was reported as <c>UNKNOWN</c> "Exception was thrown by handler." and
/// logged as a handler error with its stack trace. A stream cut short: the decoders end quietly
/// where their input ends, so a cut at a field boundary decoded as a shorter, well-formed request
/// and was served (an AddLease without its client machine, a WriteBlock without its offset).
/// Every whole stream ends in a check value of what it holds: gzip (RFC 1952) in the length of the
/// data mod 2^32, zlib (RFC 1950, gRPC's "deflate") in its Adler-32; the last bytes of the message
/// must be it. The decoders check them too, when they get that far.
/// </remarks>
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

    public Stream CreateDecompressionStream(Stream stream)
    {
        var input = new TailRecordingStream(stream);
        return new CheckedStream(inner.CreateDecompressionStream(input), input, EncodingName);
    }

    /// <summary>Reads through the decoder; a decoder error, or an end without the stream's check value, becomes the status.</summary>
    private sealed class CheckedStream(Stream decoder, TailRecordingStream input, string encoding) : Stream
    {
        private readonly bool _gzip = string.Equals(encoding, "gzip", StringComparison.Ordinal);
        private long _length;
        private readonly Adler32? _adler = string.Equals(encoding, "deflate", StringComparison.Ordinal) ? new Adler32() : null;
        private bool _ended;

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
            int read;
            try
            {
                read = decoder.Read(buffer);
            }
            catch (InvalidDataException)
            {
                throw NotValid();
            }

            return Account(buffer[..read], buffer.IsEmpty);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int read;
            try
            {
                read = await decoder.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException)
            {
                throw NotValid();
            }

            return Account(buffer.Span[..read], buffer.IsEmpty);
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

        /// <summary>Counts what the decoder gave; at its end (nothing read into a buffer with room), checks the stream's check value.</summary>
        private int Account(ReadOnlySpan<byte> data, bool noRoom)
        {
            if (data.IsEmpty)
            {
                if (!_ended && !noRoom)
                {
                    _ended = true;
                    CheckEnd();
                }

                return 0;
            }

            _length += data.Length;
            _adler?.Append(data);

            return data.Length;
        }

        private void CheckEnd()
        {
            // What the decoder left unread (after a gzip or zlib stream there is nothing) is the tail too.
            input.ReadToEnd();
            var tail = input.Tail;
            var whole = _gzip
                ? tail.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(tail[^4..]) == unchecked((uint)_length)
                : _adler is null || (tail.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(tail[^4..]) == _adler.GetCurrentHashAsUInt32());
            if (!whole)
            {
                throw NotValid();
            }
        }

        private RpcException NotValid() => new(new Status(StatusCode.Internal, $"request message is not valid {encoding} data"));
    }

    /// <summary>The compressed message as the decoder reads it, keeping its last bytes.</summary>
    private sealed class TailRecordingStream(Stream source) : Stream
    {
        private readonly byte[] _tail = new byte[4];
        private int _tailLength;

        /// <summary>The last (up to 4) bytes read.</summary>
        public ReadOnlySpan<byte> Tail => _tail.AsSpan(0, _tailLength);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        /// <summary>Reads what is left, so <see cref="Tail"/> ends where the message ends.</summary>
        public void ReadToEnd()
        {
            Span<byte> scratch = stackalloc byte[256];
            while (Read(scratch) > 0)
            {
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = source.Read(buffer);
            Record(buffer[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            Record(buffer.Span[..read]);
            return read;
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
                source.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Record(ReadOnlySpan<byte> data)
        {
            if (data.Length >= _tail.Length)
            {
                data[^_tail.Length..].CopyTo(_tail);
                _tailLength = _tail.Length;
                return;
            }

            // Shift the kept bytes left to make room for the new ones.
            var keep = Math.Min(_tailLength, _tail.Length - data.Length);
            _tail.AsSpan(_tailLength - keep, keep).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(keep));
            _tailLength = keep + data.Length;
        }
    }
}
