using Microsoft.Extensions.Options;

namespace LeaseService.Server.Cluster;

/// <summary>Checks <see cref="ClusterOptions"/> at start-up; each failure names its key.</summary>
internal sealed class ClusterOptionsValidator : IValidateOptions<ClusterOptions>
{
    public static readonly TimeSpan MinSessionTtl = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MaxSessionTtl = TimeSpan.FromSeconds(60);

    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var failures = new List<string>();
        const string S = ClusterOptions.Section;
        if (options.SessionTtl < MinSessionTtl || options.SessionTtl > MaxSessionTtl || options.SessionTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            // etcd grants whole seconds, and no lease shorter than 1.5 election timeouts (2 s with its defaults).
            failures.Add($"{S}:SessionTtl must be a whole number of seconds from {MinSessionTtl.TotalSeconds:0} to {MaxSessionTtl.TotalSeconds:0} (was {options.SessionTtl}).");
        }

        if (!string.IsNullOrEmpty(options.AdvertiseUrl)
            && (!Uri.TryCreate(options.AdvertiseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            failures.Add($"{S}:AdvertiseUrl must be an http:// or https:// URL clients can reach (was '{options.AdvertiseUrl}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
