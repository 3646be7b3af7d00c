using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace LeaseService.Testing;

/// <summary>
/// A Fact that needs Debian's etcd-server (<c>/usr/bin/etcd</c>). Without it the test is skipped
/// with the reason, except when CI=true: then it runs and fails, so CI cannot go green without
/// the etcd tests (<c>.ci/run</c> installs etcd-server).
/// </summary>
public sealed class EtcdFactAttribute : FactAttribute
{
    public EtcdFactAttribute()
    {
        if (EtcdCluster.MissingReason is { } reason && !EtcdCluster.RequiredByCi)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// A real etcd cluster of <c>/usr/bin/etcd</c> processes on free loopback ports, each member with
/// its own data directory under one temporary directory. Members can be killed (SIGKILL) and
/// started again on the same data. Disposing kills every member and deletes the data.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    public const string Binary = "/usr/bin/etcd";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly string _directory;
    private readonly Member[] _members;
    private readonly string _token = "it-" + Guid.NewGuid().ToString("N")[..12];

    private EtcdCluster(int size)
    {
        _directory = Path.Combine(Path.GetTempPath(), "leaseservice-etcd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _members = [.. Enumerable.Range(0, size).Select(i => new Member($"m{i}", FreePort(), FreePort(), Path.Combine(_directory, $"m{i}")))];
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>Why the etcd tests cannot run here, or null.</summary>
    public static string? MissingReason => File.Exists(Binary) ? null : $"etcd tests skipped: {Binary} not found (apt-get install etcd-server)";

    public static bool RequiredByCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every member's client URL, comma-separated (Storage:Etcd:Endpoints).</summary>
    public string Endpoints => string.Join(',', _members.Select(m => m.ClientUrl));

    public int Size => _members.Length;

    /// <summary>Starts a cluster of <paramref name="size"/> members and waits until it has a leader.</summary>
    public static async Task<EtcdCluster> StartAsync(int size = 1)
    {
        if (MissingReason is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        var cluster = new EtcdCluster(size);
        try
        {
            foreach (var member in cluster._members)
            {
                cluster.Start(member);
            }

            await cluster.WaitHealthyAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Kills member <paramref name="index"/> (SIGKILL) and waits for it to exit.</summary>
    public async Task KillMemberAsync(int index)
    {
        var process = _members[index].Process!;
        process.Kill();
        await process.WaitForExitAsync().DefaultTimeout();
    }

    /// <summary>Starts member <paramref name="index"/> again on its data directory.</summary>
    public void StartMember(int index) => Start(_members[index]);

    /// <summary>
    /// Freezes member <paramref name="index"/> (SIGSTOP): a hung member, as its clients see it —
    /// the kernel keeps its connections and accepts what is sent, nothing answers, no error.
    /// </summary>
    public void FreezeMember(int index) => ProcessSignal.Send(RunningProcess(index), ProcessSignal.Sigstop);

    /// <summary>Lets a frozen member run again (SIGCONT).</summary>
    public void ThawMember(int index) => ProcessSignal.Send(RunningProcess(index), ProcessSignal.Sigcont);

    /// <summary>Member <paramref name="index"/>'s client URL.</summary>
    public string ClientUrl(int index) => _members[index].ClientUrl;

    /// <summary>Every member's client URL but <paramref name="index"/>'s, comma-separated: a client that never meets that member.</summary>
    public string EndpointsExcept(int index) => string.Join(',', _members.Where((_, i) => i != index).Select(m => m.ClientUrl));

    /// <summary>
    /// Waits (bounded by the default timeout) until exactly one running member's metric
    /// <paramref name="sample"/> (a line of its <c>/metrics</c> without the value, e.g.
    /// <c>etcd_debugging_mvcc_watcher_total</c>) is at least <paramref name="atLeast"/>, and returns
    /// that member: which member serves a client's stream (a watch, a keepalive), which the client
    /// itself does not tell. etcd's own state, read from outside, so polled (never lease time).
    /// </summary>
    public async Task<int> WaitForMemberWithAsync(string sample, double atLeast = 1)
    {
        var started = Stopwatch.StartNew();
        while (true)
        {
            var found = new List<int>();
            for (var i = 0; i < _members.Length; i++)
            {
                if (_members[i].Process is { HasExited: false } && await MetricAsync(i, sample) >= atLeast)
                {
                    found.Add(i);
                }
            }

            if (found.Count == 1)
            {
                return found[0];
            }

            if (started.Elapsed > LeaseService.Testing.TaskExtensions.Timeout)
            {
                throw new TimeoutException($"not exactly one etcd member with {sample} >= {atLeast} within {LeaseService.Testing.TaskExtensions.Timeout} (members: {string.Join(", ", found)}).");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The value of <paramref name="sample"/> in member <paramref name="index"/>'s <c>/metrics</c>; 0 when absent.</summary>
    public async Task<double> MetricAsync(int index, string sample)
    {
        var body = await Http.GetStringAsync($"{_members[index].ClientUrl}/metrics");
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith(sample + " ", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(sample.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Waits (bounded by the default timeout) until every running member reports healthy: it has a leader and quorum.</summary>
    public async Task WaitHealthyAsync()
    {
        var started = Stopwatch.StartNew();
        foreach (var member in _members.Where(m => m.Process is { HasExited: false }))
        {
            while (!await IsHealthyAsync(member))
            {
                if (started.Elapsed > LeaseService.Testing.TaskExtensions.Timeout)
                {
                    throw new TimeoutException($"etcd member {member.Name} not healthy within {LeaseService.Testing.TaskExtensions.Timeout}.\n{member.Output}");
                }

                // Start-up only (raft elects a leader in about a second): never to wait for lease time.
                await Task.Delay(100);
            }
        }
    }

    /// <summary>What every member printed (for failure messages).</summary>
    public string Output => string.Join('\n', _members.Select(m => $"--- etcd {m.Name} ---\n{m.Output}"));

    public async ValueTask DisposeAsync()
    {
        KillAll();
        foreach (var member in _members)
        {
            if (member.Process is { } process)
            {
                await process.WaitForExitAsync().DefaultTimeout();
                process.Dispose();
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void KillAll()
    {
        foreach (var member in _members)
        {
            try
            {
                if (member.Process is { HasExited: false } process)
                {
                    process.Kill();
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private void Start(Member member)
    {
        if (member.Process is { HasExited: false })
        {
            throw new InvalidOperationException($"etcd member {member.Name} still runs.");
        }

        member.Process?.Dispose();
        var start = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args =
        [
            "--name", member.Name,
            "--data-dir", member.DataDirectory,
            "--listen-client-urls", member.ClientUrl,
            "--advertise-client-urls", member.ClientUrl,
            "--listen-peer-urls", member.PeerUrl,
            "--initial-advertise-peer-urls", member.PeerUrl,
            "--initial-cluster", string.Join(',', _members.Select(m => $"{m.Name}={m.PeerUrl}")),
            "--initial-cluster-state", "new",
            "--initial-cluster-token", _token,
            "--logger", "zap",
            "--log-level", "warn",
        ];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // etcd 3.4 reads ETCD_* variables as flags: none of the runner's may leak in.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ETCD", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => member.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => member.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        member.Process = process;
    }

    private Process RunningProcess(int index)
        => _members[index].Process ?? throw new InvalidOperationException($"etcd member {_members[index].Name} was never started.");

    private static async Task<bool> IsHealthyAsync(Member member)
    {
        if (member.Process is { HasExited: true })
        {
            throw new InvalidOperationException($"etcd member {member.Name} exited with code {member.Process.ExitCode}.\n{member.Output}");
        }

        try
        {
            var body = await Http.GetStringAsync($"{member.ClientUrl}/health");
            return body.Contains("\"health\":\"true\"", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>A free loopback port for etcd (or a replica) to bind: <see cref="LoopbackPorts.Free"/>.</summary>
    public static int FreePort() => LoopbackPorts.Free();

    private sealed class Member(string name, int clientPort, int peerPort, string dataDirectory)
    {
        private readonly StringBuilder _output = new();

        public string Name { get; } = name;

        public string ClientUrl { get; } = $"http://127.0.0.1:{clientPort}";

        public string PeerUrl { get; } = $"http://127.0.0.1:{peerPort}";

        public string DataDirectory { get; } = dataDirectory;

        public Process? Process { get; set; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                if (_output.Length < 200_000)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
