using System.Net.Security;

namespace LeaseService.Rpc.Client;

/// <summary>Settings for a <see cref="GrpcChannel"/>. Read once, when the channel is created.</summary>
public sealed class GrpcChannelOptions
{
    /// <summary>
    /// The largest response message accepted, checked against the length in the 5-byte prefix
    /// before anything is buffered; larger ones fail the call with RESOURCE_EXHAUSTED.
    /// Default 4 MiB; <c>null</c> means no limit (up to <see cref="int.MaxValue"/>).
    /// </summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>
    /// Replaces the channel's own pooled <see cref="SocketsHttpHandler"/> (tests, proxies).
    /// When set, <see cref="KeepAlivePingDelay"/> and <see cref="SslOptions"/> are not applied.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>Whether disposing the channel disposes <see cref="HttpHandler"/>. Default true.</summary>
    public bool DisposeHttpHandler { get; set; } = true;

    /// <summary>The <c>user-agent</c> sent with every call; a default names this library and the runtime.</summary>
    public string? UserAgent { get; set; }

    /// <summary>
    /// HTTP/2 keepalive ping interval while calls are active. Default infinite (off): C-core
    /// (Python) servers send GOAWAY too_many_pings to clients that ping more often than every 5 minutes.
    /// Otherwise at least 1 second.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>TLS settings for <c>https</c> addresses. ALPN (h2) is negotiated by the handler.</summary>
    public SslClientAuthenticationOptions? SslOptions { get; set; }

    /// <summary>The clock and timers used for call deadlines. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
