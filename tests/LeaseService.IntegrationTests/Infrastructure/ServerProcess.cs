using System.Diagnostics;
using System.Text;
using LeaseService.Testing;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// The published server in its own process, started as the container starts it
/// (<c>dotnet LeaseService.Server.dll</c>, configured through environment variables) on a loopback
/// port. Ready once it prints <c>LeaseService listening on &lt;address&gt;</c>. Its output is kept
/// for failure messages; disposing kills it, whatever happened in the test. A restart starts a new
/// process with the same settings on the same address.
/// </summary>
public sealed class ServerProcess : IServerHost
{
    /// <summary>What the server prints when it is ready, then where its metrics are (a container's log too).</summary>
    internal const string ListeningPrefix = "LeaseService listening on ";
    internal const string MetricsPrefix = "LeaseService metrics on ";

    /// <summary>Output kept for failure messages, at most.</summary>
    internal const int MaxOutputLines = 4000;


    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly List<string> _output = [];
    private Process _process = null!;
    private TaskCompletionSource<string> _listening = null!;
    private TaskCompletionSource<string> _metrics = null!;

    private readonly string? _ownDirectory;

    private ServerProcess(IReadOnlyDictionary<string, string> environment)
    {
        // Every server gets its own data directory unless the test names one; starting again
        // (a restart) reuses it, and disposing deletes it.
        if (!environment.ContainsKey("Storage__Path") && !environment.ContainsKey("Storage__Provider"))
        {
            _ownDirectory = NewDataDirectory();
            environment = new Dictionary<string, string>(environment) { ["Storage__Path"] = _ownDirectory };
        }

        _environment = environment;
        AppDomain.CurrentDomain.ProcessExit += KillOnRunnerExit;
    }

    /// <summary>A new, empty directory under the system temp directory for a server's store.</summary>
    public static string NewDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "leaseservice-it-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Deletes a directory from <see cref="NewDataDirectory"/>, if it is still there.</summary>
    public static void DeleteDataDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>The published server beside the tests (see PublishServerUnderTest in the csproj).</summary>
    public static string ServerDll { get; } = Path.Combine(AppContext.BaseDirectory, "server", "LeaseService.Server.dll");

    /// <summary>Logging settings every server the suite starts gets (warnings and errors only), process or container.</summary>
    public static IReadOnlyDictionary<string, string> QuietLogging { get; } = new Dictionary<string, string>
    {
        ["Serilog__MinimumLevel__Default"] = "Warning",
        ["Serilog__MinimumLevel__Override__Microsoft.Hosting.Lifetime"] = "Warning",
    };

    /// <summary>The address it listens on, e.g. http://127.0.0.1:41234.</summary>
    public string Address { get; private set; } = string.Empty;

    /// <summary>The Prometheus endpoint (a free loopback port per process), once the server printed it.</summary>
    public Task<string> MetricsUrl => _metrics.Task;

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process printed so far (stdout and stderr, interleaved by arrival).</summary>
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

    /// <summary>
    /// Starts the server with <paramref name="environment"/> on top of quiet logging, on
    /// <paramref name="url"/> (by default a loopback port from <see cref="LoopbackPorts"/>, which a
    /// restart on the same address gets back), and waits for its listening line.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string> environment, string? url = null)
    {
        url ??= $"http://127.0.0.1:{LoopbackPorts.Free()}";
        if (!File.Exists(ServerDll))
        {
            throw new InvalidOperationException($"{ServerDll} is missing: the test build publishes it (target PublishServerUnderTest).");
        }

        var server = new ServerProcess(environment);
        try
        {
            await server.RunAsync(url);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    /// <summary>Sends SIGTERM, as <c>docker stop</c> does; the server drains and exits on its own.</summary>
    public void Terminate()
    {
        ProcessSignal.Send(_process, ProcessSignal.Sigterm);
    }

    /// <summary>Freezes the process (SIGSTOP): a long GC pause or a partition, as the process sees it.</summary>
    public void Pause() => ProcessSignal.Send(_process, ProcessSignal.Sigstop);

    /// <summary>Lets a paused process run again (SIGCONT).</summary>
    public void Resume() => ProcessSignal.Send(_process, ProcessSignal.Sigcont);

    /// <summary>Waits for the process to exit (bounded) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().DefaultTimeout();
        return _process.ExitCode;
    }

    /// <summary>Kills the process at once (SIGKILL), as a crash or <c>docker kill</c> would, and waits for it.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().DefaultTimeout();
    }

    /// <summary>A new process with the same settings on the same address, once this one exited.</summary>
    public async Task StartAgainAsync()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException($"The server process {_process.Id} still runs: stop or kill it first.");
        }

        OnLine($"--- started again on {Address} ---");
        _process.Dispose();
        await RunAsync(Address);
    }

    /// <summary>SIGTERM, wait for the exit, start again on the same address.</summary>
    public async Task RestartAsync()
    {
        Terminate();
        await WaitForExitAsync();
        await StartAgainAsync();
    }

    public async ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnRunnerExit;
        if (_process is null)
        {
            return;
        }

        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        if (_ownDirectory is not null)
        {
            DeleteDataDirectory(_ownDirectory);
        }
    }

    private async Task RunAsync(string url)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(ServerDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(url);

        // Nothing of the test runner's own ASP.NET settings leaks into the server.
        string[] inherited = ["ASPNETCORE_", "Leases__", "DataNodes__", "Testing__", "Serilog__", "Probe__", "Metrics__", "Logging__", "Storage__", "Security__", "Authentication__", "Authorization__"];
        foreach (var key in start.Environment.Keys.Where(k => inherited.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in QuietLogging)
        {
            start.Environment[key] = value;
        }

        start.Environment["Metrics__Url"] = "http://127.0.0.1:0"; // Several servers run at once here.
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        (_process, _listening, _metrics) = (process, listening, new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) =>
        {
            // The exit can be seen before the last lines of output: read both streams to their end.
            process.WaitForExit();
            listening.TrySetException(new InvalidOperationException($"The server exited with code {process.ExitCode} before listening.\n{Output}"));
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Address = await listening.Task.DefaultTimeout();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            if (_output.Count < MaxOutputLines)
            {
                _output.Add(line);
            }
        }

        if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
        {
            _listening.TrySetResult(line[ListeningPrefix.Length..].Trim());
        }
        else if (line.StartsWith(MetricsPrefix, StringComparison.Ordinal))
        {
            _metrics.TrySetResult(line[MetricsPrefix.Length..].Trim());
        }
    }

    private void KillOnRunnerExit(object? sender, EventArgs e)
    {
        try
        {
            _process?.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>The dotnet host running these tests (testhost runs under it), else dotnet on PATH.</summary>
    public static string DotnetHost()
    {
        var path = Environment.ProcessPath;
        return path is not null && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
    }
}
