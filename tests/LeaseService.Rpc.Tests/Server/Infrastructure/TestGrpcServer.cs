using System.Net;
using LeaseService.Rpc.AspNetCore;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.Tests.Server.Infrastructure;

/// <summary>Real Kestrel on 127.0.0.1:0, HTTP/2 only (h2c prior knowledge), serving <see cref="TestService"/>.</summary>
public sealed class TestGrpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGrpcServer(WebApplication app, TestService service, TestLoggerProvider logs)
    {
        _app = app;
        Service = service;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Client = new GrpcTestClient(new Uri(address));
    }

    public TestService Service { get; }

    public TestLoggerProvider Logs { get; }

    public GrpcTestClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public HealthService Health => _app.Services.GetRequiredService<HealthService>();

    public IHostApplicationLifetime Lifetime => _app.Services.GetRequiredService<IHostApplicationLifetime>();

    public static async Task<TestGrpcServer> StartAsync(TimeProvider? timeProvider = null, Action<GrpcServerOptions>? configure = null, HttpProtocols? protocols = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseGrpcKestrelDefaults();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (protocols is { } p)
            {
                listen.Protocols = p;
            }
        }));
        var logs = new TestLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.AddGrpcWire(configure);
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        var service = new TestService();
        var app = builder.Build();
        app.UseGrpcWire(service.Register);
        await app.StartAsync().DefaultTimeout();
        return new TestGrpcServer(app, service, logs);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(cts.Token).DefaultTimeout();
        await _app.DisposeAsync();
    }
}
