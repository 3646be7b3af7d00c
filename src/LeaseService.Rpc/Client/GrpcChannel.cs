using System.Collections.Concurrent;
using Google.Protobuf;
using LeaseService.Rpc.Client.Internal;

namespace LeaseService.Rpc.Client;

/// <summary>
/// A connection pool to one gRPC server: HTTP/2 over one <see cref="SocketsHttpHandler"/>
/// (h2c with prior knowledge for <c>http://</c>, TLS with ALPN for <c>https://</c>).
/// Thread-safe; create one per server and reuse it for every call.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    private readonly ConcurrentDictionary<string, Uri> _methodUris = new(StringComparer.Ordinal);
    private readonly string _pathBase;
    private volatile bool _disposed;

    private GrpcChannel(Uri address, GrpcChannelOptions options)
    {
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Address '{address}' must be an absolute http:// or https:// URI.", nameof(address));
        }

        if (options.MaxReceiveMessageSize is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxReceiveMessageSize must not be negative.");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider);

        Address = address;
        _pathBase = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        MaxReceiveMessageSize = options.MaxReceiveMessageSize ?? int.MaxValue;
        TimeProvider = options.TimeProvider;
        UserAgent = string.IsNullOrEmpty(options.UserAgent) ? RequestHeaders.DefaultUserAgent : options.UserAgent;
        var handler = options.HttpHandler ?? HttpHandlerFactory.Create(options);
        Invoker = new HttpMessageInvoker(handler, disposeHandler: options.HttpHandler is null || options.DisposeHttpHandler);
    }

    /// <summary>The server address the channel was created for.</summary>
    public Uri Address { get; }

    internal HttpMessageInvoker Invoker { get; }

    internal int MaxReceiveMessageSize { get; }

    internal TimeProvider TimeProvider { get; }

    internal string UserAgent { get; }

    /// <summary>Creates a channel for an <c>http://host:port</c> or <c>https://host:port</c> address.</summary>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return ForAddress(new Uri(address, UriKind.Absolute), options);
    }

    /// <summary>Creates a channel for an <c>http://host:port</c> or <c>https://host:port</c> address.</summary>
    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new GrpcChannel(address, options ?? new GrpcChannelOptions());
    }

    /// <summary>
    /// Makes a unary call. Fails with <see cref="RpcException"/> carrying the call's status;
    /// invalid <see cref="CallOptions.Headers"/> throw <see cref="ArgumentException"/> before anything is sent.
    /// </summary>
    public Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        RequestHeaders.Validate(options.Headers);
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        return call.UnaryAsync(request);
    }

    /// <summary>
    /// Starts a server-streaming call: the request is sent at once; read the responses with
    /// <see cref="AsyncServerStreamingCall{TResponse}.ReadAllAsync"/> and dispose the call when done.
    /// </summary>
    public AsyncServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        RequestHeaders.Validate(options.Headers);
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        call.StartServerStreaming(request);
        return new AsyncServerStreamingCall<TResponse>(call);
    }

    /// <summary>Closes the pooled connections. Calls still in flight fail with UNAVAILABLE.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Invoker.Dispose();
    }

    internal Uri GetMethodUri(string fullName)
    {
        if (_methodUris.TryGetValue(fullName, out var uri))
        {
            return uri;
        }

        return _methodUris.GetOrAdd(fullName, static (name, pathBase) => new Uri(pathBase + name, UriKind.Absolute), _pathBase);
    }
}
