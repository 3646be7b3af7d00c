using System.Net;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Hosting;

/// <summary>
/// The gRPC server's configured listening addresses, each with the key that set it, and the port
/// check Kestrel does not make: <see cref="BindingAddress.Parse"/> takes any integer for a port
/// (binding then throws from deep inside Kestrel) and reads <c>http://127.0.0.1:abc</c> as the
/// host <c>127.0.0.1:abc</c> on the scheme's default port, which Kestrel serves on every interface,
/// port 80. Checked before anything listens (and, for <c>Metrics:Url</c>, by its validator).
/// </summary>
internal static class ListenAddresses
{
    /// <summary>The keys of the listening addresses, for messages.</summary>
    public const string UrlsKeys = "urls (--urls, ASPNETCORE_URLS) or Kestrel:Endpoints";

    /// <summary>
    /// Every configured address with the key that set it: <c>urls</c> (<c>--urls</c>,
    /// <c>ASPNETCORE_URLS</c>), <c>HTTP_PORTS</c> and <c>HTTPS_PORTS</c> (as <c>http://+:port</c>, <c>https://+:port</c>),
    /// and <c>Kestrel:Endpoints:*:Url</c>.
    /// </summary>
    public static IEnumerable<(string Key, string Url)> Configured(IConfiguration configuration)
    {
        foreach (var url in Split(configuration[WebHostDefaults.ServerUrlsKey], ';'))
        {
            yield return ("urls (--urls, ASPNETCORE_URLS)", url);
        }

        foreach (var (key, scheme) in new[] { ("HTTP_PORTS", "http"), ("HTTPS_PORTS", "https") })
        {
            foreach (var port in Split(configuration[key], ';'))
            {
                yield return ($"{key} (ASPNETCORE_{key})", $"{scheme}://+:{port}");
            }
        }

        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            if (endpoint["Url"] is { Length: > 0 } url)
            {
                yield return (endpoint.Path + ":Url", url);
            }
        }
    }

    /// <summary>
    /// Refuses a configured address whose port is not a number from 0 to 65535 (0: any free port),
    /// naming its key. Addresses that are not URLs at all are left to Kestrel, which names them.
    /// </summary>
    public static void Validate(IConfiguration configuration)
    {
        var failures = new List<string>();
        foreach (var (key, url) in Configured(configuration))
        {
            if (TryParse(url) is { } address && PortProblem(address) is { } problem)
            {
                failures.Add($"{key}: '{url}' {problem}.");
            }
        }

        if (failures.Count > 0)
        {
            throw new OptionsValidationException(WebHostDefaults.ServerUrlsKey, typeof(string), failures);
        }
    }

    /// <summary>Kestrel's parse of <paramref name="url"/>, or null when it is not an address.</summary>
    public static BindingAddress? TryParse(string url)
    {
        try
        {
            return BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>What is wrong with <paramref name="address"/>'s port, or null (also for Unix sockets and named pipes).</summary>
    public static string? PortProblem(BindingAddress address)
    {
        if (address.IsUnixPipe || address.IsNamedPipe)
        {
            return null;
        }

        // A port Kestrel could not read stays in the host: "127.0.0.1:abc", "[::1]:abc", "localhost:".
        var host = address.Host;
        var afterHost = host.StartsWith('[') && host.IndexOf(']', StringComparison.Ordinal) is var end and > 0
            ? host[(end + 1)..]
            : IPAddress.TryParse(host, out _) ? string.Empty : host; // An IPv6 address without brackets is all host.
        if (afterHost.Contains(':', StringComparison.Ordinal))
        {
            return "has a port that is not a number (from 0 to 65535; 0 for any free port)";
        }

        return address.Port is < 0 or > 65535
            ? $"has port {address.Port}, outside 0 to 65535 (0 for any free port)"
            : null;
    }

    private static string[] Split(string? value, char separator)
        => (value ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
