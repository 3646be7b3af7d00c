using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.AspNetCore.Internal.Framing;

/// <summary>
/// Reads the single request message of a unary or server-streaming call from the request body.
/// The body is a byte stream of Length-Prefixed-Messages; HTTP/2 DATA frame boundaries mean nothing:
/// <code>
/// +--------+--------------------------------+-------------------------+
/// | 1 byte | 4 bytes, unsigned, big-endian  | Length bytes            |
/// | flag   | Length                         | serialized protobuf     |
/// +--------+--------------------------------+-------------------------+
///   flag 0: plain; 1: compressed with grpc-encoding; 2..255: protocol error
/// </code>
/// Exactly one message must arrive before END_STREAM. Errors are thrown as <see cref="RpcException"/>:
/// <list type="bullet">
/// <item>length over the limit: RESOURCE_EXHAUSTED, decided from the header, before the payload is buffered;</item>
/// <item>END_STREAM inside a header or a payload: INTERNAL "Incomplete message";</item>
/// <item>no message, or a second one: UNIMPLEMENTED (the spec's code for a cardinality violation; grpc-dotnet says INTERNAL);</item>
/// <item>flag 1 without grpc-encoding or with identity: INTERNAL; flag 1 with another encoding: UNIMPLEMENTED
/// (<see cref="UnsupportedEncodingException"/>, so the caller adds grpc-accept-encoding); flag &gt; 1: INTERNAL;</item>
/// <item>protobuf parse error: INTERNAL.</item>
/// </list>
/// </summary>
internal static class RequestMessageReader
{
    public static async ValueTask<T> ReadSingleMessageAsync<T>(
        PipeReader reader,
        MessageParser<T> parser,
        int maxMessageSize,
        string? requestEncoding,
        CancellationToken cancellationToken)
        where T : IMessage<T>
    {
        T? message = default;
        var haveMessage = false;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new RpcException(StatusCode.Internal, "Incoming message cancelled.");
            }

            var buffer = result.Buffer;
            var consumed = buffer.Start;
            try
            {
                if (!haveMessage && MessageFraming.TryReadHeader(buffer, out var flag, out var length))
                {
                    CheckHeader(flag, length, maxMessageSize, requestEncoding);
                    var total = MessageFraming.HeaderSize + (long)length;
                    if (buffer.Length >= total)
                    {
                        message = Parse(parser, buffer.Slice(MessageFraming.HeaderSize, length));
                        haveMessage = true;
                        consumed = buffer.GetPosition(total);
                    }
                }

                if (haveMessage)
                {
                    if (buffer.Slice(consumed).Length > 0)
                    {
                        throw new RpcException(StatusCode.Unimplemented, "Additional data after the message received.");
                    }

                    if (result.IsCompleted)
                    {
                        return message!;
                    }
                }
                else if (result.IsCompleted)
                {
                    throw buffer.IsEmpty
                        ? new RpcException(StatusCode.Unimplemented, "No message received.")
                        : new RpcException(StatusCode.Internal, "Incomplete message.");
                }
            }
            finally
            {
                // Consumed: the parsed message. Examined: everything, so the next read waits for more.
                reader.AdvanceTo(consumed, buffer.End);
            }
        }
    }

    private static void CheckHeader(byte flag, uint length, int maxMessageSize, string? requestEncoding)
    {
        if (flag == 1)
        {
            if (string.IsNullOrEmpty(requestEncoding) || string.Equals(requestEncoding, GrpcProtocol.IdentityEncoding, StringComparison.Ordinal))
            {
                throw new RpcException(StatusCode.Internal, "Request sent the compressed flag without a grpc-encoding other than 'identity'.");
            }

            throw new UnsupportedEncodingException(requestEncoding);
        }

        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, "Unexpected compressed flag value.");
        }

        if (length > (uint)maxMessageSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, "Received message exceeds the maximum configured message size.");
        }
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize request message."), ex);
        }
    }
}

/// <summary>A compressed message in an encoding this server does not support (UNIMPLEMENTED).</summary>
internal sealed class UnsupportedEncodingException : RpcException
{
    public UnsupportedEncodingException(string encoding)
        : base(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {GrpcProtocol.IdentityEncoding}")
    {
    }
}
