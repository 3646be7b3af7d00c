using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using LeaseService.Rpc.Internal;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server.Infrastructure;

/// <summary>
/// Raw gRPC over HttpClient (h2c prior knowledge), independent of the project's client half:
/// builds requests by hand and parses frames, headers and trailers itself.
/// </summary>
public sealed class GrpcTestClient : IDisposable
{
    private readonly HttpClient _http;

    public GrpcTestClient(Uri baseAddress)
    {
        BaseAddress = baseAddress;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
        {
            BaseAddress = baseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    public Uri BaseAddress { get; }

    public static byte[] Frame(IMessage message) => MessageFraming.ToFramedArray(message);

    public static byte[] Frame(byte flag, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[5 + payload.Length];
        bytes[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(bytes.AsSpan(5));
        return bytes;
    }

    public static HttpRequestMessage CreateRequest(string path, HttpContent? content, string? contentType = "application/grpc", HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (content is not null)
        {
            content.Headers.Remove("Content-Type");
            if (contentType is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        return request;
    }

    public Task<GrpcResult> UnaryAsync(string path, IMessage message, Action<HttpRequestMessage>? configure = null, CancellationToken cancellationToken = default)
        => SendAsync(path, new ByteArrayContent(Frame(message)), configure, cancellationToken);

    public async Task<GrpcResult> SendAsync(string path, HttpContent content, Action<HttpRequestMessage>? configure = null, CancellationToken cancellationToken = default)
    {
        using var request = CreateRequest(path, content);
        configure?.Invoke(request);
        return await SendAsync(request, cancellationToken);
    }

    public async Task<GrpcResult> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        byte[] body;
        try
        {
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException) when (response.Headers.Contains("grpc-status"))
        {
            // Trailers-Only, then RST_STREAM (e.g. CANCEL after a deadline) while our request body was
            // still open: like a gRPC client, the status in the headers is the outcome.
            body = [];
        }

        return GrpcResult.From(response, ParseFrames(body));
    }

    /// <summary>Starts a streaming call and returns once the response headers arrived.</summary>
    public async Task<GrpcStreamingCall> StartStreamingAsync(string path, IMessage message, Action<HttpRequestMessage>? configure = null, CancellationToken cancellationToken = default)
    {
        var request = CreateRequest(path, new ByteArrayContent(Frame(message)));
        configure?.Invoke(request);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return new GrpcStreamingCall(request, response, stream);
    }

    public void Dispose() => _http.Dispose();

    public static List<byte[]> ParseFrames(ReadOnlySpan<byte> body)
    {
        var messages = new List<byte[]>();
        while (!body.IsEmpty)
        {
            if (body.Length < 5)
            {
                throw new InvalidDataException("Truncated frame header in response.");
            }

            body[0].Should().Be(0, "the server never compresses");
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.Slice(1));
            messages.Add(body.Slice(5, length).ToArray());
            body = body.Slice(5 + length);
        }

        return messages;
    }
}

/// <summary>What a call produced, as a gRPC client would interpret it.</summary>
public sealed record GrpcResult(
    HttpStatusCode HttpStatus,
    HttpResponseHeaders Headers,
    HttpContentHeaders ContentHeaders,
    HttpResponseHeaders Trailers,
    IReadOnlyList<byte[]> Messages)
{
    /// <summary>True when the status came in the response headers (one HEADERS block with END_STREAM).</summary>
    public bool TrailersOnly => Headers.Contains("grpc-status");

    public int? GrpcStatus => Get("grpc-status") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : null;

    public StatusCode? Status => GrpcStatus is { } s ? (StatusCode)s : null;

    /// <summary>grpc-message as sent (percent-encoded).</summary>
    public string? RawMessage => Get("grpc-message");

    public string? Message => RawMessage is { } m ? PercentEncoding.Decode(m) : null;

    public static GrpcResult From(HttpResponseMessage response, IReadOnlyList<byte[]> messages)
        => new(response.StatusCode, response.Headers, response.Content.Headers, response.TrailingHeaders, messages);

    public string? Get(string name)
        => Trailers.TryGetValues(name, out var t) ? string.Join(",", t)
        : Headers.TryGetValues(name, out var h) ? string.Join(",", h)
        : null;

    public T OnlyMessage<T>(MessageParser<T> parser)
        where T : IMessage<T>
    {
        Messages.Should().ContainSingle();
        return parser.ParseFrom(Messages[0]);
    }
}

/// <summary>A server-streaming call read message by message.</summary>
public sealed class GrpcStreamingCall(HttpRequestMessage request, HttpResponseMessage response, Stream stream) : IDisposable
{
    public HttpResponseMessage Response => response;

    /// <summary>Reads the next message, or null at the end of the body.</summary>
    public async Task<T?> ReadAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var header = new byte[5];
        var read = await ReadFullyAsync(header).DefaultTimeout();
        if (read == 0)
        {
            return null;
        }

        read.Should().Be(5, "a frame header is 5 bytes");
        var payload = new byte[BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1))];
        (await ReadFullyAsync(payload).DefaultTimeout()).Should().Be(payload.Length);
        return parser.ParseFrom(payload);
    }

    /// <summary>Reads to the end and returns the outcome (trailers are only there after EOF).</summary>
    public async Task<GrpcResult> ReadToEndAsync()
    {
        var rest = new MemoryStream();
        await stream.CopyToAsync(rest).DefaultTimeout();
        return GrpcResult.From(response, GrpcTestClient.ParseFrames(rest.ToArray()));
    }

    public void Dispose()
    {
        stream.Dispose();
        response.Dispose();
        request.Dispose();
    }

    private async Task<int> ReadFullyAsync(byte[] buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total));
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}

/// <summary>
/// Request content written in the given chunks, each flushed on its own (so each is at least one
/// DATA frame), optionally held open after the last chunk until <see cref="Release"/>.
/// </summary>
public sealed class ChunkedContent(IReadOnlyList<byte[]> chunks, bool holdOpen = false) : HttpContent
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task AllSent => _allSent.Task;

    public void Release() => _release.TrySetResult();

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        try
        {
            await stream.FlushAsync();
            foreach (var chunk in chunks)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
            }

            _allSent.TrySetResult();
            if (holdOpen)
            {
                await _release.Task;
            }
        }
        catch (Exception ex)
        {
            _allSent.TrySetException(ex);
            throw;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
