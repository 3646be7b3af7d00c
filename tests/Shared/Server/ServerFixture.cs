using LeaseService.Client;
using LeaseService.Server;
using System.Diagnostics.Metrics;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LeaseService.Testing;

/// <summary>
/// The real server (the same composition Program runs) on a loopback port 0 over real HTTP/2,
/// with a fake clock for lease time and a LeaseClient pointed at it. The metrics endpoint is off
/// unless a test asks for it (<see cref="StartWithMetricsAsync"/>): every server would otherwise
/// bind the default metrics port.
/// </summary>
public sealed class ServerFixture : IAsyncDisposable
{
    public static readonly TimeSpan Soft = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Hard = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>The metrics address tests use: loopback, any free port.</summary>
    public const string MetricsUrl = "http://127.0.0.1:0";

    private ServerFixture(WebApplication app, FakeTimeProvider time, MonitorPassListener passes)
    {
        App = app;
        Time = time;
        Passes = passes;
        Address = app.ListeningAddresses()[0];
        MetricsAddress = app.MetricsAddresses() is [var metrics, ..] ? metrics : null;
        Client = LeaseClient.Create(Address);
    }

    public WebApplication App { get; }

    public FakeTimeProvider Time { get; }

    public string Address { get; }

    /// <summary>The bound metrics address (e.g. <c>http://127.0.0.1:41234</c>); null when the endpoint is off.</summary>
    public string? MetricsAddress { get; }

    public LeaseClient Client { get; }

    /// <summary>The server's lease manager, for waiting on background recoveries.</summary>
    public LeaseService.Core.LeaseManager Leases => App.Services.GetRequiredService<LeaseService.Core.LeaseManager>();

    /// <summary>Completes a task per monitor pass of this server.</summary>
    public MonitorPassListener Passes { get; }

    public static Task<ServerFixture> StartAsync(params string[] settings) => StartAsync(static _ => { }, settings);

    /// <summary>Starts the server with <paramref name="configure"/> applied to its builder (extra services, interceptors).</summary>
    public static async Task<ServerFixture> StartAsync(Action<WebApplicationBuilder> configure, params string[] settings)
    {
        var time = new FakeTimeProvider();
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            $"--Leases:SoftLimit={Soft}",
            $"--Leases:HardLimit={Hard}",
            $"--Leases:MonitorInterval={Interval}",
            "--Serilog:MinimumLevel:Default=Warning",
            "--Metrics:Url=",
            "--Storage:Provider=InMemory", // In-process servers never touch a data directory.
            .. settings,
        ];
        var app = LeaseServer.Build(args, builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(time);
            configure(builder);
        });
        var passes = new MonitorPassListener(app.Services.GetRequiredService<IMeterFactory>());

        // The monitor's periodic timer is created when the host starts: advancing after this reaches it.
        await app.StartAsync().DefaultTimeout();
        return new ServerFixture(app, time, passes);
    }

    /// <summary>Starts the server with its metrics endpoint on <see cref="MetricsUrl"/>.</summary>
    public static Task<ServerFixture> StartWithMetricsAsync(params string[] settings)
        => StartAsync([$"--Metrics:Url={MetricsUrl}", .. settings]);

    /// <summary>Moves the fake clock forward by one monitor interval at a time and waits for each pass.</summary>
    public async Task AdvanceWithMonitorAsync(TimeSpan total)
    {
        var end = Time.GetTimestamp() + total.Ticks;
        while (Time.GetTimestamp() + Interval.Ticks <= end)
        {
            var pass = Passes.NextPass;
            Time.Advance(Interval);
            await pass.DefaultTimeout();
        }

        Time.Advance(TimeSpan.FromTicks(end - Time.GetTimestamp()));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Passes.Dispose();
        await App.StopAsync().DefaultTimeout();
        await App.DisposeAsync();
    }
}
