namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// A test that starts, signals or restarts a server of its own (<see cref="ServerHost"/>: a local
/// process, or a container of LEASE_SERVICE_IMAGE driven through podman). Skipped only when
/// <c>LEASE_SERVICE_URL</c> points the suite at a server it does not control (the compose profile).
/// </summary>
public sealed class OwnProcessFactAttribute : FactAttribute
{
    public OwnProcessFactAttribute()
    {
        if (ServerTarget.Image is null && ServerTarget.RemoteUrl is { } url)
        {
            Skip = $"needs a server process of its own (kill, SIGTERM, restart or a real-clock server with tiny limits); LEASE_SERVICE_URL={url} is a server this suite does not control";
        }
    }
}

/// <summary>Where the suite's shared server comes from.</summary>
public static class ServerTarget
{
    /// <summary>LEASE_SERVICE_URL when set (e.g. http://leaseservice-test:5050), else null: start a local process.</summary>
    public static string? RemoteUrl =>
        Environment.GetEnvironmentVariable("LEASE_SERVICE_URL") is { Length: > 0 } url ? url : null;

    /// <summary>
    /// LEASE_SERVICE_IMAGE when set (e.g. localhost/leaseservice:ci, docker/ci-image.sh builds it):
    /// every server the suite needs, the shared one included, is a podman container of that image.
    /// </summary>
    public static string? Image =>
        Environment.GetEnvironmentVariable("LEASE_SERVICE_IMAGE") is { Length: > 0 } image ? image : null;

    /// <summary>A path and holder suffix no other test (or earlier run against the same server) uses.</summary>
    public static string Unique(string name) => $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
}

/// <summary>A test that must reach the server on this machine's loopback (skipped for a remote LEASE_SERVICE_URL).</summary>
public sealed class LoopbackServerFactAttribute : FactAttribute
{
    public LoopbackServerFactAttribute()
    {
        if (ServerTarget.RemoteUrl is { } url && !new Uri(url).IsLoopback)
        {
            Skip = $"needs the server on this machine's loopback; LEASE_SERVICE_URL={url} is elsewhere";
        }
    }
}
