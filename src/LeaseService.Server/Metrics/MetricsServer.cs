using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using LeaseService.Server.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace LeaseService.Server.Metrics;

/// <summary>
/// Serves <c>GET /metrics</c> (OpenTelemetry's Prometheus exporter middleware) over HTTP/1.1 on
/// <see cref="MetricsOptions.Url"/> with a Kestrel server of its own, started and stopped with the host.
/// </summary>
/// <remarks>
/// A second server rather than a second endpoint of the gRPC one: Kestrel ignores <c>--urls</c>
/// (and <c>ASPNETCORE_URLS</c>, the default address) as soon as any endpoint is configured in code
/// or in <c>Kestrel:Endpoints</c>, so adding the metrics endpoint there would silently move the
/// gRPC endpoints. Its own server also keeps the gRPC server's HTTP/2-only defaults and limits
/// apart, and costs the gRPC requests nothing. The address is parsed by Kestrel exactly like
/// <c>--urls</c>, port 0 included.
/// <para>
/// That Kestrel comes from a service provider of its own (<see cref="CreateKestrel"/>) whose
/// <see cref="IMeterFactory"/> publishes nothing we collect: the OpenTelemetry SDK subscribes to
/// Kestrel's meter by name, process-wide, so with Kestrel's own factory the metrics port's
/// connections were counted in <c>kestrel_*</c> beside the gRPC endpoints'.
/// </para>
/// </remarks>
internal sealed partial class MetricsServer(
    IOptions<MetricsOptions> options,
    IServiceProvider services,
    ILoggerFactory loggerFactory,
    ILogger<MetricsServer> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _kestrelHost;
    private IServer? _server;

    /// <summary>The bound addresses (port 0 resolved); empty until started or when disabled.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var url = options.Value.Url;
        if (string.IsNullOrWhiteSpace(url))
        {
            LogDisabled();
            return;
        }

        _kestrelHost = CreateKestrel(loggerFactory);
        var server = _kestrelHost.Services.GetRequiredService<IServer>();
        var addresses = server.Features.GetRequiredFeature<IServerAddressesFeature>();
        addresses.Addresses.Add(url);
        _server = server;
        try
        {
            await server.StartAsync(new MetricsApplication(BuildPipeline()), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // In use: an IOException; anything else (an address this machine does not have) Kestrel passes on as it is.
            var inUse = StartupFailure.IsAddressInUse(ex);
            var cause = inUse ? "the port is in use"
                : ex is SocketException socket ? socket.Message + StartupFailure.Explain(socket.SocketErrorCode)
                : ex.Message;
            throw new StartupException(
                $"Cannot serve metrics on {url}: {cause}. Change {MetricsOptions.Section}:Url (Metrics__Url; empty disables the endpoint){(inUse ? ", or stop what holds the port" : string.Empty)}.",
                ex);
        }
        Addresses = [.. addresses.Addresses];
        foreach (var address in Addresses)
        {
            LogListening(address);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is { } server)
        {
            await server.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_kestrelHost is { } host)
        {
            await host.DisposeAsync().ConfigureAwait(false); // Disposes the server with its provider.
        }
    }

    /// <summary>
    /// Kestrel (HTTP/1.1 only, no Server header, no request bodies, at most 64 connections) in a
    /// service provider of its own, never started as a host: only its server is used. Its logs go
    /// to <paramref name="logs"/>; its meters (Kestrel's, Hosting's) to <see cref="UncollectedMeterFactory"/>.
    /// </summary>
    private static WebApplication CreateKestrel(ILoggerFactory logs)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(static kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(static listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Limits.MaxRequestBodySize = 0;
            kestrel.Limits.MaxConcurrentConnections = 64;
        });
        builder.Services.AddSingleton(logs); // Not disposed with this provider: the host's.
        builder.Services.AddSingleton<IMeterFactory, UncollectedMeterFactory>();
        return builder.Build();
    }

    /// <summary><c>/metrics</c> through the exporter's middleware; 404 for anything else.</summary>
    private RequestDelegate BuildPipeline()
    {
        var app = new ApplicationBuilder(services);
        app.Use(static (context, next) =>
        {
            // A scrape is a read: GET or HEAD.
            if (context.Request.Path == "/metrics" && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD";
                return Task.CompletedTask;
            }

            return next(context);
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint(
            services.GetRequiredService<MeterProvider>(),
            predicate: null,
            path: "/metrics",
            configureBranchedPipeline: null,
            optionsName: null);
        app.Run(static context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync("Not found: metrics are at /metrics\n");
        });
        return app.Build();
    }

    [LoggerMessage(4010, LogLevel.Information, "Metrics served at {Address}/metrics")]
    private partial void LogListening(string address);

    [LoggerMessage(4011, LogLevel.Information, "Metrics endpoint disabled (Metrics:Url is empty)")]
    private partial void LogDisabled();

    /// <summary>
    /// Meters nothing collects: each is named with a prefix of its own, so the OpenTelemetry SDK,
    /// which listens to <c>Microsoft.AspNetCore.Server.Kestrel</c> and <c>Microsoft.AspNetCore.Hosting</c>
    /// by name, does not enable their instruments, and Kestrel does not even record them.
    /// </summary>
    private sealed class UncollectedMeterFactory : IMeterFactory
    {
        public const string Prefix = "LeaseService.MetricsEndpoint.";

        private readonly Lock _lock = new();
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(Prefix + options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            lock (_lock)
            {
                _meters.Add(meter);
            }

            return meter;
        }

        public void Dispose()
        {
            lock (_lock)
            {
                foreach (var meter in _meters)
                {
                    meter.Dispose();
                }

                _meters.Clear();
            }
        }
    }

    /// <summary>Runs the pipeline on Kestrel's feature collection.</summary>
    private sealed class MetricsApplication(RequestDelegate pipeline) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }

        public Task ProcessRequestAsync(HttpContext context) => pipeline(context);
    }
}
