using System.Net;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>
/// The body of a unary or server-streaming request: one framed message, written with a single
/// <see cref="Stream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> so it goes out in one
/// DATA frame (dotnet/runtime 35184). The bytes stay owned by this content until it is collected,
/// because the handler may serialize it again when it retries a request refused by the server.
/// </summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly byte[] _framed;

    public UnaryRequestContent(byte[] framed)
    {
        _framed = framed;
        Headers.ContentType = RequestHeaders.GrpcContentType;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => stream.WriteAsync(_framed).AsTask();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        => stream.WriteAsync(_framed, cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _framed.Length;
        return true;
    }

    protected override Task<Stream> CreateContentReadStreamAsync()
        => Task.FromResult<Stream>(new MemoryStream(_framed, writable: false));
}
