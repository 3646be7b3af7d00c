using System.Buffers;
using System.Diagnostics;
using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>
/// Reads Length-Prefixed-Messages from a response body:
/// <code>
/// +--------+--------------------------------+-------------------------+
/// | 1 byte | 4 bytes, unsigned, big-endian  | Length bytes            |
/// | flag   | Length                         | serialized protobuf     |
/// +--------+--------------------------------+-------------------------+
/// </code>
/// DATA frames split messages anywhere, so bytes accumulate in one pooled buffer
/// (<c>[_start, _end)</c> is unread) until a whole message is there. The length is checked against
/// the limit as soon as the header is readable, before the buffer grows for the payload.
/// Not thread-safe: one read at a time, and <see cref="Dispose"/> only once no read is pending.
/// </summary>
internal sealed class ResponseMessageReader : IDisposable
{
    private const int InitialBufferSize = 4096;

    private readonly Stream _stream;
    private readonly int _maxMessageSize;
    private readonly string? _encoding;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _messageLength;

    /// <param name="stream">The response body.</param>
    /// <param name="maxMessageSize">The largest payload accepted.</param>
    /// <param name="encoding">The response's <c>grpc-encoding</c>, if any (only used in errors).</param>
    public ResponseMessageReader(Stream stream, int maxMessageSize, string? encoding)
    {
        _stream = stream;
        // 5 + length must fit an array: a "no limit" channel still stops at the largest array.
        _maxMessageSize = Math.Min(maxMessageSize, Array.MaxLength - MessageFraming.HeaderSize);
        _encoding = encoding;
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
    }

    /// <summary>The payload of the message the last successful read returned; valid until the next read.</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_start - _messageLength, _messageLength);

    /// <summary>
    /// Reads the next message. False when the body ends cleanly between messages.
    /// Throws <see cref="RpcException"/>: INTERNAL for a body that ends inside a message or a bad
    /// flag, RESOURCE_EXHAUSTED for a message over the limit, UNIMPLEMENTED for an unsupported encoding.
    /// </summary>
    public async ValueTask<bool> ReadMessageAsync(CancellationToken cancellationToken)
    {
        _messageLength = 0;
        if (_start == _end)
        {
            _start = _end = 0;
        }

        while (_end - _start < MessageFraming.HeaderSize)
        {
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_end == _start)
                {
                    return false;
                }

                throw new RpcException(StatusCode.Internal, "Incomplete message: the response ended inside a message header.");
            }
        }

        MessageFraming.TryReadHeader(new ReadOnlySequence<byte>(_buffer, _start, _end - _start), out var flag, out var length);
        CheckHeader(flag, length);
        var total = MessageFraming.HeaderSize + (int)length;
        EnsureCapacity(total);
        while (_end - _start < total)
        {
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new RpcException(StatusCode.Internal, "Incomplete message: the response ended inside a message.");
            }
        }

        _start += total;
        _messageLength = (int)length;
        return true;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _start = _end = _messageLength = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void CheckHeader(byte flag, uint length)
    {
        if (flag != 0)
        {
            if (flag != 1)
            {
                throw new RpcException(StatusCode.Internal, $"Unexpected compressed flag value {flag} in a response message.");
            }

            if (_encoding is null || string.Equals(_encoding, GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
            {
                throw new RpcException(StatusCode.Internal, "A compressed response message arrived without a grpc-encoding.");
            }

            throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding '{_encoding}' on a response message.");
        }

        if (length > (uint)_maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Received message larger than max ({length} vs. {_maxMessageSize}).");
        }
    }

    /// <summary>Makes room for <paramref name="total"/> bytes from <c>_start</c>, moving or growing the buffer.</summary>
    private void EnsureCapacity(int total)
    {
        if (_buffer.Length - _start >= total)
        {
            return;
        }

        var pending = _end - _start;
        if (_buffer.Length >= total)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        }
        else
        {
            var larger = ArrayPool<byte>.Shared.Rent(total);
            Buffer.BlockCopy(_buffer, _start, larger, 0, pending);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        _start = 0;
        _end = pending;
    }

    /// <summary>Reads more bytes after <c>_end</c>; false at the end of the body.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_end == _buffer.Length)
        {
            // Only a header can be short of room here: a payload has its room reserved before filling.
            Debug.Assert(_end - _start < MessageFraming.HeaderSize, "Payload room is reserved before filling.");
            EnsureCapacity(MessageFraming.HeaderSize);
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += read;
        return read > 0;
    }
}
