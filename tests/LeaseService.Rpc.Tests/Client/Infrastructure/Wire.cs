using System.Buffers.Binary;
using Google.Protobuf;
using LeaseService.Rpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LeaseService.Rpc.Tests.Client.Infrastructure;

/// <summary>What a fake server writes: frames, Trailers-Only, trailers, resets.</summary>
internal static class Wire
{
    public static byte[] Frame(IMessage message) => MessageFraming.ToFramedArray(message);

    /// <summary>A 5-byte prefix announcing <paramref name="length"/> bytes with <paramref name="flag"/>.</summary>
    public static byte[] Header(uint length, byte flag = 0)
    {
        var header = new byte[5];
        header[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        return header;
    }

    public static async Task<byte[]> ReadRequestBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    /// <summary>Reads the request body and parses its single framed message.</summary>
    public static async Task<T> ReadRequestAsync<T>(HttpContext context, MessageParser<T> parser)
        where T : IMessage<T>
    {
        var body = await ReadRequestBodyAsync(context);
        body.Length.Should().BeGreaterThanOrEqualTo(5);
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        body.Length.Should().Be(5 + (int)length);
        return parser.ParseFrom(body.AsSpan(5));
    }

    /// <summary>Sends the response headers (200, application/grpc) now.</summary>
    public static async Task StartResponseAsync(HttpContext context)
    {
        context.Response.ContentType = GrpcProtocol.ContentType;
        await context.Response.StartAsync();
        await context.Response.Body.FlushAsync();
    }

    public static async Task WriteAsync(HttpContext context, byte[] bytes, bool flush = true)
    {
        context.Response.ContentType ??= GrpcProtocol.ContentType;
        await context.Response.Body.WriteAsync(bytes);
        if (flush)
        {
            await context.Response.Body.FlushAsync();
        }
    }

    public static Task WriteMessageAsync(HttpContext context, IMessage message, bool flush = true)
        => WriteAsync(context, Frame(message), flush);

    /// <summary>The status in trailers, sent when the handler returns.</summary>
    public static void SetTrailers(HttpContext context, int status, string? message = null)
    {
        context.Response.AppendTrailer(GrpcProtocol.StatusHeader, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (message is not null)
        {
            context.Response.AppendTrailer(GrpcProtocol.MessageHeader, message);
        }
    }

    /// <summary>Trailers-Only: the status in the one HEADERS frame, no body.</summary>
    public static void SetTrailersOnly(HttpContext context, string status, string? message = null, int httpStatus = 200)
    {
        context.Response.StatusCode = httpStatus;
        context.Response.ContentType = GrpcProtocol.ContentType;
        context.Response.Headers[GrpcProtocol.StatusHeader] = status;
        if (message is not null)
        {
            context.Response.Headers[GrpcProtocol.MessageHeader] = message;
        }
    }

    /// <summary>RST_STREAM with an HTTP/2 error code.</summary>
    public static void Reset(HttpContext context, int errorCode)
        => context.Features.GetRequiredFeature<IHttpResetFeature>().Reset(errorCode);

    /// <summary>Completes when the client resets the stream (or the connection goes).</summary>
    public static Task AbortedAsync(HttpContext context)
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        context.RequestAborted.Register(() => aborted.TrySetResult());
        return aborted.Task;
    }

    /// <summary>
    /// A handler that (optionally after reading the request) sends response headers, signals
    /// <paramref name="headersSent"/>, then waits for the client to abort and signals
    /// <paramref name="serverAborted"/>.
    /// </summary>
    public static async Task HeadersThenAwaitAbortAsync(HttpContext context, TaskCompletionSource headersSent, TaskCompletionSource serverAborted, bool readRequest = true)
    {
        var aborted = AbortedAsync(context);
        if (readRequest)
        {
            await ReadRequestBodyAsync(context);
        }

        await StartResponseAsync(context);
        headersSent.SetResult();
        await aborted;
        serverAborted.SetResult();
    }
}
