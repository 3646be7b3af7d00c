using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using LeaseService.Shared;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Probe;

/// <summary>
/// <c>LeaseService.Server --probe [--address URL] [--service NAME] [--timeout 3s]</c>: one
/// <c>grpc.health.v1.Health/Check</c> against a running server, for a container HEALTHCHECK.
/// Exits 0 when the service is SERVING, 1 otherwise (including bad arguments: an address that is
/// not an http:// or https:// URL, a timeout beyond an hour), printing one line. Over TLS to its
/// own server on loopback it does not validate the certificate (<see cref="CreateHandler"/>).
/// Starts no web host. Defaults: the address from <c>ASPNETCORE_URLS</c> (a wildcard host becomes
/// 127.0.0.1), else <c>ASPNETCORE_HTTP_PORTS</c>, else http://localhost:5050; service
/// <c>leases.v1.LeaseService</c>; timeout 3 s. Environment <c>Probe__Address</c>,
/// <c>Probe__Service</c>, <c>Probe__Timeout</c> stand in for the flags.
/// </summary>
internal static class HealthProbe
{
    public const string Flag = "--probe";

    public static bool IsProbe(string[] args) => args.Contains(Flag, StringComparer.Ordinal);

    public static async Task<int> RunAsync(string[] args, TextWriter output)
    {
        string address;
        string service;
        TimeSpan timeout;
        string timeoutText;
        try
        {
            var options = ParseArguments(args);
            address = CheckAddress(options.GetValueOrDefault("--address") ?? Environment.GetEnvironmentVariable("Probe__Address") ?? DefaultAddress());
            service = options.GetValueOrDefault("--service") ?? Environment.GetEnvironmentVariable("Probe__Service") ?? Health.HealthChecksSetup.LeaseServiceName;
            timeoutText = options.GetValueOrDefault("--timeout") ?? Environment.GetEnvironmentVariable("Probe__Timeout") ?? "3s";
            timeout = ParseTimeout(timeoutText);
        }
        catch (FormatException ex)
        {
            await output.WriteLineAsync($"probe: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        var label = service.Length == 0 ? "server" : service;
        string? refusedCertificate = null;
        try
        {
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = CreateHandler(new Uri(address), why => refusedCertificate = why) });
            var deadline = TimeProvider.System.GetUtcNow().UtcDateTime + timeout;
            var response = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = service }, deadline: deadline).ConfigureAwait(false);
            var healthy = response.Status == ServingStatus.Serving;
            await output.WriteLineAsync($"{label} at {address}: {response.Status}").ConfigureAwait(false);
            return healthy ? 0 : 1;
        }
        catch (RpcException ex)
        {
            // A deadline carries no detail: say what it means (a wedged or paused server, or a slow link).
            var why = refusedCertificate
                ?? (ex.StatusCode == StatusCode.DeadlineExceeded ? $"no answer within {timeoutText} ({ex.StatusCode})" : $"{ex.StatusCode} {ex.Status.Detail}");
            await output.WriteLineAsync($"{label} at {address}: {why}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException)
        {
            await output.WriteLineAsync($"probe: bad address '{address}': {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static Dictionary<string, string> ParseArguments(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == Flag)
            {
                continue;
            }

            if (arg is not ("--address" or "--service" or "--timeout"))
            {
                throw new FormatException($"unknown argument '{arg}' (usage: --probe [--address URL] [--service NAME] [--timeout 3s])");
            }

            if (i + 1 >= args.Length)
            {
                throw new FormatException($"{arg} needs a value");
            }

            options[arg] = args[++i];
        }

        return options;
    }

    /// <summary>
    /// The probe's connection. Over TLS to a loopback address (127.0.0.0/8, ::1, localhost) neither
    /// the name nor the chain of the server's certificate is checked: the probe runs beside the
    /// server it checks (the image's HEALTHCHECK, an exec probe) and reaches it at 127.0.0.1, which
    /// a real certificate does not name, signed by a CA the container need not trust; it checks
    /// liveness, not identity, and sends no credentials. The certificate must still be in date,
    /// since every client refuses one that is not. Any other address is validated in full against
    /// the system's trusted CAs, as any client does.
    /// </summary>
    /// <param name="address">The address probed.</param>
    /// <param name="refused">Told why a loopback server's certificate was refused, for the probe's line.</param>
    internal static SocketsHttpHandler CreateHandler(Uri address, Action<string> refused)
    {
        var handler = new SocketsHttpHandler();
        if (address.Scheme == Uri.UriSchemeHttps && address.IsLoopback)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                var problem = certificate is X509Certificate2 presented ? DateProblem(presented) : "the server presented no certificate";
                if (problem is not null)
                {
                    refused(problem);
                }

                return problem is null;
            };
        }

        return handler;
    }

    /// <summary>Why <paramref name="certificate"/> is not in date, or null.</summary>
    private static string? DateProblem(X509Certificate2 certificate)
    {
        var now = TimeProvider.System.GetUtcNow().UtcDateTime; // Certificates' validity is wall-clock time.
        var (notBefore, notAfter) = (certificate.NotBefore.ToUniversalTime(), certificate.NotAfter.ToUniversalTime());
        return now < notBefore ? $"the server's certificate is not valid before {notBefore:u}"
            : now > notAfter ? $"the server's certificate expired {notAfter:u}"
            : null;
    }

    /// <summary>The longest <c>--timeout</c>: one hour.</summary>
    internal static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>"3s", "500ms", "1m" or a TimeSpan ("00:00:03"); greater than zero, at most <see cref="MaxTimeout"/>.</summary>
    internal static TimeSpan ParseTimeout(string text)
    {
        if (!DurationText.TryParse(text, out var value))
        {
            throw new FormatException($"bad timeout '{text}' (e.g. 3s, 500ms, 00:00:03)");
        }

        return value > TimeSpan.Zero && value <= MaxTimeout
            ? value
            : throw new FormatException($"timeout must be greater than zero and at most 1h (was '{text}')");
    }

    /// <summary>
    /// <paramref name="address"/> if it is an <c>http://</c> or <c>https://</c> URL with a host:
    /// the only addresses the probe's channel takes (without a scheme, <c>localhost:5050</c> reads
    /// as the scheme <c>localhost</c>).
    /// </summary>
    internal static string CheckAddress(string address)
        => Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            ? address
            : throw new FormatException($"bad address '{address}': expected http://host:port or https://host:port");

    /// <summary>Where this container's own server listens, seen from inside it.</summary>
    private static string DefaultAddress()
    {
        var urls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var first = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
            var schemeEnd = first.IndexOf("://", StringComparison.Ordinal);
            if (schemeEnd > 0)
            {
                var rest = first[(schemeEnd + 3)..];
                var portStart = rest.LastIndexOf(':');
                var host = portStart > 0 ? rest[..portStart] : rest;
                if (host is "+" or "*" or "0.0.0.0" or "[::]")
                {
                    return first[..(schemeEnd + 3)] + "127.0.0.1" + (portStart > 0 ? rest[portStart..] : string.Empty);
                }
            }

            return first;
        }

        var ports = Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS");
        if (!string.IsNullOrWhiteSpace(ports))
        {
            return "http://127.0.0.1:" + ports.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0];
        }

        return LeaseServer.DefaultUrl;
    }
}
