using System.Net;
using System.Security.Cryptography.X509Certificates;
using LeaseService.Rpc.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Rpc.Tests.Client.Infrastructure;

/// <summary>
/// Bare Kestrel on 127.0.0.1, port 0, HTTP/2 only (h2c prior knowledge), with one request
/// delegate that crafts the response byte by byte. It knows nothing of the server half of the
/// wire layer, so each test states exactly what goes on the wire.
/// </summary>
internal sealed class FakeGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConnectionTracker _connections;
    private int _requestCount;

    private FakeGrpcServer(WebApplication app, ConnectionTracker connections, Uri address)
    {
        _app = app;
        _connections = connections;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Requests that reached the handler.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <param name="handler">Crafts each response.</param>
    /// <param name="certificate">When set, the endpoint is TLS with ALPN (h2) instead of h2c.</param>
    /// <param name="protocols">What the endpoint speaks; HTTP/2 only unless a test needs otherwise.</param>
    public static async Task<FakeGrpcServer> StartAsync(RequestDelegate handler, X509Certificate2? certificate = null, HttpProtocols protocols = HttpProtocols.Http2)
    {
        var connections = new ConnectionTracker();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = protocols;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }

                listen.Use(next => connection => connections.RunAsync(connection, next));
            });
        });
        var app = builder.Build();
        FakeGrpcServer? server = null;
        app.Run(context =>
        {
            Interlocked.Increment(ref server!._requestCount);
            return handler(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server = new FakeGrpcServer(app, connections, new Uri(address));
        return server;
    }

    /// <summary>Drops every open connection at the transport, as a crashed server would.</summary>
    public void AbortConnections() => _connections.AbortAll();

    public GrpcChannel CreateChannel(GrpcChannelOptions? options = null) => GrpcChannel.ForAddress(Address, options);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class ConnectionTracker
    {
        private readonly Lock _gate = new();
        private readonly HashSet<ConnectionContext> _open = [];

        public async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
        {
            lock (_gate)
            {
                _open.Add(connection);
            }

            try
            {
                await next(connection);
            }
            finally
            {
                lock (_gate)
                {
                    _open.Remove(connection);
                }
            }
        }

        public void AbortAll()
        {
            ConnectionContext[] open;
            lock (_gate)
            {
                open = [.. _open];
            }

            foreach (var connection in open)
            {
                connection.Abort(new ConnectionAbortedException("Test aborted the connection."));
            }
        }
    }
}
