using LeaseService.Server.Hosting;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Metrics;

/// <summary>Checks <see cref="MetricsOptions"/> at start-up; the failure names the key.</summary>
internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    private const string Key = MetricsOptions.Section + ":" + nameof(MetricsOptions.Url);

    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var url = options.Url!;
        var problem = Check(url);
        return problem is null
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{Key} must be an absolute http URL such as {MetricsOptions.DefaultUrl}, or empty to disable metrics; '{url}' {problem}.");
    }

    private static string? Check(string url)
    {
        if (ListenAddresses.TryParse(url) is not { } address)
        {
            return "is not a URL";
        }

        if (!string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
        {
            return $"has scheme '{address.Scheme}' (only http is served)";
        }

        if (address.IsNamedPipe || address.IsUnixPipe || string.IsNullOrEmpty(address.Host))
        {
            return "has no host";
        }

        if (!string.IsNullOrEmpty(address.PathBase))
        {
            return "has a path (metrics are always at /metrics)";
        }

        // Else "http://127.0.0.1:abc" is served on every interface, port 80.
        return ListenAddresses.PortProblem(address);
    }
}
