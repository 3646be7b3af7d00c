namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// A server the suite starts and controls, reached over loopback: a local process of the published
/// build (<see cref="ServerProcess"/>), or a podman container of the service image
/// (<see cref="ServerContainer"/>, when <c>LEASE_SERVICE_IMAGE</c> is set). The process-control
/// scenarios (restart, SIGTERM drain, kill and restart) are written once against this.
/// </summary>
public interface IServerHost : IAsyncDisposable
{
    /// <summary>The gRPC address, e.g. http://127.0.0.1:41234; the same after a restart.</summary>
    string Address { get; }

    /// <summary>The Prometheus endpoint, once the server printed it.</summary>
    Task<string> MetricsUrl { get; }

    /// <summary>Everything the server printed so far, over all its runs (for failure messages).</summary>
    string Output { get; }

    /// <summary>Sends SIGTERM (<c>podman stop</c> for a container) and returns: the server drains and exits on its own.</summary>
    void Terminate();

    /// <summary>Waits for the server to exit (bounded) and returns its exit code.</summary>
    Task<int> WaitForExitAsync();

    /// <summary>SIGKILL (<c>podman kill --signal KILL</c>): a crash, no drain. Returns once it exited.</summary>
    Task KillAsync();

    /// <summary>
    /// After the server exited: starts it again on the same address and, for a container, a new
    /// container on the same data volume, as an orchestrator replaces a crashed one. Returns once it listens.
    /// </summary>
    Task StartAgainAsync();

    /// <summary>
    /// A graceful restart (<c>podman restart</c>: SIGTERM, exit, start the same container), on the
    /// same address. Returns once it listens again.
    /// </summary>
    Task RestartAsync();
}

/// <summary>Starts the server a scenario controls: a container of LEASE_SERVICE_IMAGE when set, else a local process.</summary>
public static class ServerHost
{
    /// <summary>
    /// Starts a server configured by <paramref name="environment"/> (environment variables only, as
    /// the container is) on top of quiet logging, and returns once it listens (a container: once its
    /// image's HEALTHCHECK also passed).
    /// </summary>
    public static async Task<IServerHost> StartAsync(IReadOnlyDictionary<string, string> environment)
        => ServerTarget.Image is { } image
            ? await ServerContainer.StartAsync(image, environment)
            : await ServerProcess.StartAsync(environment);
}
