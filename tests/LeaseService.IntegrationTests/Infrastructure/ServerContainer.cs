using System.Diagnostics;
using System.Globalization;
using System.Text;
using LeaseService.Testing;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// The server as a podman container of the service image (LEASE_SERVICE_IMAGE), run as an operator
/// runs it: <c>podman run</c> with its gRPC and metrics ports published on 127.0.0.1 only, a named
/// volume at /var/lib/leaseservice, configuration through environment variables. Ready once it
/// prints its listening line and the image's own HEALTHCHECK (<c>podman healthcheck run</c>)
/// passes. Stop, kill and restart go through <c>podman stop</c>, <c>podman kill</c> and
/// <c>podman restart</c>. Disposing removes its containers and its volume.
/// </summary>
public sealed class ServerContainer : IServerHost
{
    private const int GrpcPort = 5050;
    private const int MetricsPort = 9464;
    private const string DataPath = "/var/lib/leaseservice";

    /// <summary>Longer than the server's 30 s drain, as the compose file's stop_grace_period.</summary>
    private const string StopTimeoutSeconds = "35";

    private readonly string _image;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly string _baseName = $"leaseservice-it-{Guid.NewGuid():N}"[..28];
    private readonly List<string> _containers = [];
    private readonly List<string> _output = [];
    private Process? _logs;
    private TaskCompletionSource _listening = new();
    private TaskCompletionSource _metricsLine = new();
    private Task<string> _metricsUrl = Task.FromResult(string.Empty);
    // Chosen before the first container (LoopbackPorts: no outgoing connection of the run can hold
    // one while a restarted container needs it back); every container of this server takes them.
    private (string Grpc, string Metrics) _hostPorts = (LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture), LoopbackPorts.Free().ToString(CultureInfo.InvariantCulture));
    private Task<Podman.Result>? _stopping;

    private ServerContainer(string image, IReadOnlyDictionary<string, string> environment)
    {
        (_image, _environment) = (image, environment);
        AppDomain.CurrentDomain.ProcessExit += RemoveOnRunnerExit;
    }

    /// <summary>Every container and volume this suite creates carries this label (LEASE_SERVICE_RUN_ID, else "local"), for cleaning up after a crashed run.</summary>
    public static string RunLabel { get; } =
        "leaseservice-it=" + (Environment.GetEnvironmentVariable("LEASE_SERVICE_RUN_ID") is { Length: > 0 } id ? id : "local");

    /// <summary>The published gRPC port on 127.0.0.1, e.g. http://127.0.0.1:41234.</summary>
    public string Address { get; private set; } = string.Empty;

    /// <summary>The published metrics port on 127.0.0.1, once the server printed its metrics line.</summary>
    public Task<string> MetricsUrl => _metricsUrl;

    /// <summary>The named volume mounted at /var/lib/leaseservice; it outlives restarts and replacements.</summary>
    public string Volume => _baseName + "-data";

    /// <summary>The container now running the server.</summary>
    public string Name => _containers[^1];

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary><c>podman run</c> of <paramref name="image"/> with <paramref name="environment"/> on top of quiet logging; returns once it is healthy.</summary>
    public static async Task<ServerContainer> StartAsync(string image, IReadOnlyDictionary<string, string> environment)
    {
        var server = new ServerContainer(image, environment);
        try
        {
            await server.RunAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary><c>podman stop</c> (the image's STOPSIGNAL, SIGTERM), in the background: it returns when the container exited.</summary>
    public void Terminate() => _stopping = Podman.RunAsync(["stop", "--time", StopTimeoutSeconds, Name]);

    public async Task<int> WaitForExitAsync()
    {
        if (_stopping is not null)
        {
            await _stopping.DefaultTimeout();
        }

        var exit = await Podman.RunAsync(["wait", Name]).DefaultTimeout();
        return int.Parse(exit.Stdout.Trim(), CultureInfo.InvariantCulture);
    }

    public async Task KillAsync()
    {
        await Podman.RunAsync(["kill", "--signal", "KILL", Name]).DefaultTimeout();
        await WaitForExitAsync();
    }

    /// <summary>A new container of the same image and settings, on the same volume and host ports, replacing the exited one.</summary>
    public async Task StartAgainAsync()
    {
        var state = await Podman.RunAsync(["inspect", "--format", "{{.State.Status}}", Name]).DefaultTimeout();
        if (state.Stdout.Trim() is "running")
        {
            throw new InvalidOperationException($"The container {Name} still runs: stop or kill it first.");
        }

        await Podman.RunAsync(["rm", Name]).DefaultTimeout();
        OnLine($"--- replaced by a new container on volume {Volume}, {Address} ---");
        await RunAsync();
    }

    /// <summary><c>podman restart</c>: SIGTERM, exit, the same container started again (same volume, same ports).</summary>
    public async Task RestartAsync()
    {
        var since = DateTimeOffset.UtcNow;
        OnLine($"--- podman restart {Name} ---");
        await Podman.RunAsync(["restart", "--time", StopTimeoutSeconds, Name]).DefaultTimeout();
        await WaitUntilHealthyAsync(since);
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= RemoveOnRunnerExit;
        StopFollowingLogs();
        if (_containers.Count > 0)
        {
            await Podman.RunAsync(["rm", "--force", "--time", "0", .. _containers], check: false);
        }

        await Podman.RunAsync(["volume", "rm", "--force", Volume], check: false);
    }

    /// <summary>A new container on this server's host ports.</summary>
    private async Task RunAsync()
    {
        var name = $"{_baseName}-{_containers.Count + 1}";
        List<string> args =
        [
            "run", "--detach", "--pull", "never", "--name", name, "--label", RunLabel,
            "--publish", $"127.0.0.1:{_hostPorts.Grpc}:{GrpcPort}",
            "--publish", $"127.0.0.1:{_hostPorts.Metrics}:{MetricsPort}",
            "--volume", $"{Volume}:{DataPath}",
        ];
        // The image listens on http://+:5050 (non-loopback in the container): without
        // authentication it starts only with Security__AllowAnonymous=true, which the suite's
        // containers get unless the scenario configures authentication itself.
        var environment = new Dictionary<string, string>(ServerProcess.QuietLogging) { ["Security__AllowAnonymous"] = "true" };
        foreach (var (key, value) in _environment)
        {
            environment[key] = value;
        }

        foreach (var (key, value) in environment)
        {
            args.AddRange(["--env", $"{key}={value}"]);
        }

        args.Add(_image);
        if (_containers.Count == 0)
        {
            // The volume carries the label too (podman would otherwise create it unlabelled on run).
            await Podman.RunAsync(["volume", "create", "--label", RunLabel, Volume]).DefaultTimeout();
        }

        _containers.Add(name);
        await Podman.RunAsync(args).DefaultTimeout();
        await WaitUntilHealthyAsync(since: null);
    }

    /// <summary>
    /// Follows the container's log until its listening line, reads the published ports, then runs
    /// the image's HEALTHCHECK once: it must pass at once, as the server is SERVING when it says it
    /// listens (README, "What survives a restart").
    /// </summary>
    private async Task WaitUntilHealthyAsync(DateTimeOffset? since)
    {
        StopFollowingLogs();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        (_listening, _metricsLine) = (listening, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        // After a restart the log still holds the earlier runs: read from the restart on.
        string[] from = since is { } t ? ["--since", t.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffff'Z'", CultureInfo.InvariantCulture)] : [];
        var start = Podman.StartInfo(["logs", "--follow", .. from, Name]);
        var logs = new Process { StartInfo = start, EnableRaisingEvents = true };
        logs.OutputDataReceived += (_, e) => OnLine(e.Data);
        logs.ErrorDataReceived += (_, e) => OnLine(e.Data);
        logs.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"The container {Name} stopped before listening.\n{Output}"));
        logs.Start();
        logs.BeginOutputReadLine();
        logs.BeginErrorReadLine();
        _logs = logs;

        await listening.Task.DefaultTimeout();
        _hostPorts = (await PublishedPortAsync(GrpcPort), await PublishedPortAsync(MetricsPort));
        Address = $"http://127.0.0.1:{_hostPorts.Grpc}";
        _metricsUrl = AfterAsync(_metricsLine.Task, $"http://127.0.0.1:{_hostPorts.Metrics}/metrics");

        var health = await Podman.RunAsync(["healthcheck", "run", Name], check: false).DefaultTimeout();
        var status = await Podman.RunAsync(["inspect", "--format", "{{.State.Health.Status}}", Name]).DefaultTimeout();
        if (health.ExitCode != 0 || status.Stdout.Trim() != "healthy")
        {
            throw new InvalidOperationException(
                $"The image's HEALTHCHECK did not pass on {Name} listening at {Address}: exit {health.ExitCode}, status '{status.Stdout.Trim()}'.\n{health.Stdout}{health.Stderr}\n{Output}");
        }
    }

    /// <summary>The host port publishing <paramref name="containerPort"/>, which must be on 127.0.0.1 only.</summary>
    private async Task<string> PublishedPortAsync(int containerPort)
    {
        var port = await Podman.RunAsync(["port", Name, $"{containerPort}/tcp"]).DefaultTimeout();
        var bindings = port.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (bindings is not [var binding] || !binding.StartsWith("127.0.0.1:", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"{Name} publishes {containerPort} as '{string.Join(", ", bindings)}', not on 127.0.0.1 only.");
        }

        return binding["127.0.0.1:".Length..];
    }

    private static async Task<string> AfterAsync(Task line, string url)
    {
        await line;
        return url;
    }

    private void StopFollowingLogs()
    {
        if (_logs is { } logs)
        {
            try
            {
                logs.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already ended with the container.
            }

            logs.Dispose();
            _logs = null;
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Count < ServerProcess.MaxOutputLines)
            {
                _output.Add(line);
            }
        }

        if (line.StartsWith(ServerProcess.ListeningPrefix, StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
        else if (line.StartsWith(ServerProcess.MetricsPrefix, StringComparison.Ordinal))
        {
            _metricsLine.TrySetResult();
        }
    }

    private void RemoveOnRunnerExit(object? sender, EventArgs e)
    {
        StopFollowingLogs();
        Podman.Run(["rm", "--force", "--time", "0", .. _containers]);
        Podman.Run(["volume", "rm", "--force", Volume]);
    }
}

/// <summary>The podman command line (configured by CONTAINERS_CONF, as docker/ci-image.sh writes it).</summary>
internal static class Podman
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("podman")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>Runs podman; with <paramref name="check"/>, a non-zero exit throws with its error output.</summary>
    public static async Task<Result> RunAsync(IReadOnlyList<string> args, bool check = true)
    {
        using var process = Process.Start(StartInfo(args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var result = new Result(process.ExitCode, await stdout, await stderr);
        if (check && result.ExitCode != 0)
        {
            throw new InvalidOperationException($"podman {string.Join(' ', args)} exited with {result.ExitCode}: {result.Stderr.Trim()}");
        }

        return result;
    }

    /// <summary>Runs podman synchronously, ignoring the outcome (clean-up when the test runner exits).</summary>
    public static void Run(IReadOnlyList<string> args)
    {
        try
        {
            using var process = Process.Start(StartInfo(args))!;
            process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No podman: nothing was started either.
        }
    }
}
