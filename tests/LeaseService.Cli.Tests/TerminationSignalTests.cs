using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LeaseService.Testing;

namespace LeaseService.Cli.Tests;

/// <summary>
/// The <c>lease</c> program as a process (the build puts <c>lease.dll</c> beside the tests): Ctrl+C
/// and SIGTERM cancel the running command, which ends as the README says, "cancelled." and exit
/// code 1, instead of the process dying by the signal (exit 130 or 143, no message).
/// </summary>
public sealed class TerminationSignalTests
{

    // recover waits an hour between tries here, after its first try found no server.
    [Theory]
    [InlineData(ProcessSignal.Sigint)]
    [InlineData(ProcessSignal.Sigterm)]
    public async Task Signal_WhileRecoverWaitsToRetry_CancelsIt_ExitOne(int signal)
    {
        await using var lease = LeaseProcess.Start("recover", "/signal/a", "--retries", "3", "--retry-interval", "1h", "--server", LoopbackPorts.RefusedAddress());
        await lease.WaitForLineAsync("Retrying in 3600000 ms...");

        lease.Signal(signal);

        (await lease.WaitForExitAsync()).Should().Be(1, lease.Output);
        lease.Output.Should().Contain("lease recover: cancelled.");
    }

    // A call in flight: the server accepted the connection and never answers.
    [Fact]
    public async Task Sigint_DuringACall_CancelsIt_ExitOne()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var lease = LeaseProcess.Start("ls", "--server", $"127.0.0.1:{port}");
        using var connection = await silent.AcceptTcpClientAsync().DefaultTimeout();

        lease.Signal(ProcessSignal.Sigint);

        (await lease.WaitForExitAsync()).Should().Be(1, lease.Output);
        lease.Output.Should().Contain("lease ls: cancelled.");
    }

    /// <summary>A <c>lease</c> process whose stdout and stderr are kept, line by line.</summary>
    private sealed class LeaseProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly List<(string Line, TaskCompletionSource Seen)> _waits = [];
        private readonly Lock _lock = new();

        private LeaseProcess(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_lock)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        public static LeaseProcess Start(params string[] args)
        {
            var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lease.dll"));
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove("LEASE_SERVER");
            start.Environment.Remove("LEASE_TOKEN");
            var lease = new LeaseProcess(new Process { StartInfo = start });
            lease._process.OutputDataReceived += (_, e) => lease.OnLine(e.Data);
            lease._process.ErrorDataReceived += (_, e) => lease.OnLine(e.Data);
            lease._process.Start();
            lease._process.BeginOutputReadLine();
            lease._process.BeginErrorReadLine();
            return lease;
        }

        /// <summary>Waits until the process printed <paramref name="line"/> (bounded).</summary>
        public Task WaitForLineAsync(string line)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (_lines.Contains(line))
                {
                    return Task.CompletedTask;
                }

                _waits.Add((line, seen));
            }

            return seen.Task.DefaultTimeout();
        }

        public void Signal(int signal)
        {
            ProcessSignal.Send(_process, signal);
        }

        public async Task<int> WaitForExitAsync()
        {
            await _process.WaitForExitAsync().DefaultTimeout();
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lock)
            {
                _lines.Add(line);
                foreach (var wait in _waits.Where(w => w.Line == line).ToList())
                {
                    wait.Seen.TrySetResult();
                    _waits.Remove(wait);
                }
            }
        }

        /// <summary>The dotnet host running these tests, else dotnet on PATH.</summary>
        private static string DotnetHost()
            => Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
    }
}
