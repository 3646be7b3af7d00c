using System.Net;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>The one pooled <see cref="SocketsHttpHandler"/> a channel sends every call through.</summary>
internal static class HttpHandlerFactory
{
    /// <summary>Long enough that a warm connection survives gaps between lease renewals.</summary>
    public static readonly TimeSpan PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

    public static SocketsHttpHandler Create(GrpcChannelOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // Open another connection when one hits the server's stream limit (100 on Kestrel)
            // instead of queueing calls behind it.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = PooledConnectionIdleTimeout,
            // A proxy from HTTP_PROXY would break h2c prior knowledge.
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            // gRPC compresses per message, never with content-encoding.
            AutomaticDecompression = DecompressionMethods.None,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
        };

        if (options.SslOptions is { } ssl)
        {
            handler.SslOptions = ssl;
        }

        return handler;
    }
}
