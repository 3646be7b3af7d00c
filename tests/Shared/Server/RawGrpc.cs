using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace LeaseService.Testing;

/// <summary>Hand-built gRPC requests over HTTP/2 for cases a well-behaved client never sends.</summary>
public sealed class RawGrpc : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler()) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly string _address;

    public RawGrpc(string address) => _address = address.TrimEnd('/');

    public static byte[] Frame(IMessage message, byte flag = 0)
    {
        var payload = message.ToByteArray();
        return Frame(payload, flag, (uint)payload.Length);
    }

    /// <summary>An uncompressed frame of exactly <paramref name="payload"/> (e.g. from <see cref="WireFields"/>).</summary>
    public static byte[] Frame(byte[] payload) => Frame(payload, 0, (uint)payload.Length);

    public static byte[] Frame(byte[] payload, byte flag, uint declaredLength)
    {
        var bytes = new byte[5 + payload.Length];
        bytes[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), declaredLength);
        payload.CopyTo(bytes, 5);
        return bytes;
    }

    public async Task<RawResponse> SendAsync(string path, byte[] body, string method = "POST", string contentType = "application/grpc", params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), _address + path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await _http.SendAsync(request);
        var content = await response.Content.ReadAsByteArrayAsync();
        string? Find(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First()
            : response.Headers.TryGetValues(name, out var h) ? h.First()
            : null;
        return new RawResponse((int)response.StatusCode, Find("grpc-status"), Find("grpc-message"), content);
    }

    public void Dispose() => _http.Dispose();
}

public sealed record RawResponse(int HttpStatus, string? GrpcStatus, string? GrpcMessage, byte[] Body);
