using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography.X509Certificates;
using LeaseService.Client;
using LeaseService.Server;
using LeaseService.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LeaseService.Testing;

/// <summary>
/// The real server over real TLS (a certificate from <see cref="TestPki"/>) with JWT and
/// client-certificate authentication, admin <see cref="Admin"/>, path rules for
/// <see cref="Restricted"/>, and the manual test clock (so TestClock is mapped). Denials are
/// captured from the log and the metric.
/// </summary>
public sealed class SecureServer : IAsyncLifetime
{
    public const string Admin = "ops";
    public const string Restricted = "restricted";
    public const string RestrictedPrefix = "/restricted/";

    private readonly List<LeaseClient> _clients = [];
    private MeterListener? _listener;

    internal TestPki Pki { get; } = new();

    public WebApplication App { get; private set; } = null!;

    public string Address { get; private set; } = null!;

    /// <summary>Warnings logged by the denial recorder, rendered.</summary>
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> DenialLog { get; } = new();

    /// <summary>Denials counted by the metric, by reason.</summary>
    public ConcurrentDictionary<string, long> DenialCounts { get; } = new();

    /// <summary>The denial metric's <c>rpc.method</c> label values, with their counts.</summary>
    public ConcurrentDictionary<string, long> DenialMethods { get; } = new();

    public async Task InitializeAsync()
    {
        App = LeaseServer.Build(
            [
                "--urls", "https://127.0.0.1:0",
                $"--Kestrel:Certificates:Default:Path={Pki.ServerCertificatePath}",
                $"--Kestrel:Certificates:Default:KeyPath={Pki.ServerKeyPath}",
                .. TestTokens.Settings,
                $"--Authentication:Certificate:TrustAnchors:0={Pki.CaPath}",
                $"--Authorization:Admins:0={Admin}",
                $"--Authorization:PathRules:{Restricted}:0={RestrictedPrefix}",
                $"--Authorization:PathRules:{Restricted.ToUpperInvariant()}-UPPER:0={RestrictedPrefix}", // Keys are case-insensitive, as configuration keys.
                "--Testing:ManualClock=true",
                "--Serilog:MinimumLevel:Default=Warning",
                "--Metrics:Url=",
                "--Storage:Provider=InMemory",
            ],
            builder => builder.Services.AddSingleton<ILogger<AccessDenials>>(new CapturingLogger(DenialLog)));
        var meters = App.Services.GetRequiredService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == meters && instrument.Name == "leaseservice.authorization.denials")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    DenialCounts.AddOrUpdate((string)tag.Value!, value, (_, old) => old + value);
                }
                else if (tag.Key == "rpc.method")
                {
                    DenialMethods.AddOrUpdate((string)tag.Value!, value, (_, old) => old + value);
                }
            }
        });
        _listener.Start();
        await App.StartAsync().DefaultTimeout();
        Address = App.ListeningAddresses().Single();
    }

    /// <summary>A client sending <paramref name="token"/> (none when null) over TLS trusting the test CA.</summary>
    public LeaseClient Client(string? token, Func<CancellationToken, ValueTask<string?>>? tokenProvider = null)
        => Track(LeaseClient.Create(Address, new LeaseClientOptions { BearerToken = token, BearerTokenProvider = tokenProvider, ServerCertificateAuthority = Pki.Ca }));

    /// <summary>A client authenticated as <paramref name="subject"/> by a valid token.</summary>
    public LeaseClient As(string subject) => Client(TestTokens.Mint(subject));

    /// <summary>A client presenting <paramref name="certificate"/>, without a token.</summary>
    public LeaseClient WithCertificate(X509Certificate2 certificate)
        => Track(LeaseClient.Create(Address, new LeaseClientOptions { ClientCertificate = certificate, ServerCertificateAuthority = Pki.Ca }));

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _listener?.Dispose();
        await App.StopAsync().DefaultTimeout();
        await App.DisposeAsync();
        Pki.Dispose();
    }

    private LeaseClient Track(LeaseClient client)
    {
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    private sealed class CapturingLogger(ConcurrentQueue<(LogLevel, int, string)> into) : ILogger<AccessDenials>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => into.Enqueue((logLevel, eventId.Id, formatter(state, exception)));
    }
}
