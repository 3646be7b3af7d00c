using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using LeaseService.Contracts.V1;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

// The backlog benchmark's driver (run by benchmarks/load/run-backlog.sh). Two steps:
//   open     opens FILES files across FILES/10 holders (/backlog/h<H>/f<I>, holder bl-<H>) and one
//            file for each of LIVE live holders (live-<L>), CONCURRENCY calls in flight, then checks
//            the server's open-file count. Prints files, seconds, opens/s.
//   backlog  against the restarted server (every lease counted as renewed at its load, so all
//            expire together one hard limit later): LIVE renewers renew their holder every
//            RENEW_MS ms (retrying UNAVAILABLE while the state loads) while the metrics endpoint is
//            read every SAMPLE_MS ms, until the open files are down to the live ones. Prints
//            recoveries/s from the first sample with an expiry to the one with none left (the
//            expiries counter and open-file gauge), the peak backlog, the server's GC pause time and
//            collections in that window, and RenewLease p50/p99/max of the live holders over it;
//            then the same renewals for AFTER_S seconds with no backlog (same process and heap) as
//            the baseline. A live holder that loses its lease fails the run.
// Exits 1 on a failed check, 2 on bad arguments.
var options = Options.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("""
        usage: LeaseService.BacklogBenchmark open --target URL --metrics URL [--files 1000000] [--live 4] [--concurrency 64]
               LeaseService.BacklogBenchmark backlog --target URL --metrics URL [--files 1000000] [--live 4] [--renew-ms 50] [--sample-ms 100] [--timeout-s 1800] [--after-s 10]
        """);
    return 2;
}

using var channel = GrpcChannel.ForAddress(options.Target, new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
});
var client = new LeaseServiceClient(channel);
using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
var holders = Math.Max(1, options.Files / 10);

return options.Step == "open" ? await OpenAsync() : await BacklogAsync();

async Task<int> OpenAsync()
{
    var started = Stopwatch.GetTimestamp();
    var next = -1L;
    await Task.WhenAll(Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
    {
        long n;
        while ((n = Interlocked.Increment(ref next)) < options.Files)
        {
            // File n belongs to holder n % holders: every holder's 10 files are spread over the run.
            var h = n % holders;
            await client.AddLeaseAsync(new AddLeaseRequest { Holder = $"bl-{h}", Path = $"/backlog/h{h}/f{n / holders}", ClientMachine = "backlog-bench" });
        }
    })));
    var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
    for (var l = 0; l < options.Live; l++)
    {
        await client.AddLeaseAsync(new AddLeaseRequest { Holder = $"live-{l}", Path = $"/live/{l}", ClientMachine = "backlog-bench" });
    }

    var open = (await ScrapeAsync())["leaseservice_files_open"];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step=open files={options.Files} holders={holders} live={options.Live} seconds={seconds:0.0} opens_per_s={options.Files / seconds:0} open_files={open:0}"));
    if (open != options.Files + options.Live)
    {
        Console.Error.WriteLine($"the server reports {open} open files, expected {options.Files + options.Live}");
        return 1;
    }

    return 0;
}

async Task<int> BacklogAsync()
{
    using var stop = new CancellationTokenSource();
    var latencies = new List<(long At, long Ticks)>[options.Live];
    string? lost = null;
    long unavailable = 0;
    var renewers = Enumerable.Range(0, options.Live).Select(l => Task.Run(async () =>
    {
        var mine = latencies[l] = new List<(long, long)>(1 << 16);
        var request = new RenewLeaseRequest { Holder = $"live-{l}" };
        while (!stop.IsCancellationRequested)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                await client.RenewLeaseAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                mine.Add((start, Stopwatch.GetTimestamp() - start));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                Interlocked.Increment(ref unavailable); // Loading, or not listening yet.
                await Task.Delay(10);
                continue;
            }
            catch (RpcException ex)
            {
                lost ??= $"live-{l}: {ex.Status.StatusCode} {ex.Status.Detail}";
                return;
            }

            var wait = TimeSpan.FromMilliseconds(options.RenewMs) - Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }
    })).ToArray();

    // Samples: (time, expiries total, open files, overdue files, GC pause seconds, GCs).
    var samples = new List<(long At, double Expiries, double Open, double Overdue, double GcPause, double Gcs)>();
    var deadline = Stopwatch.GetTimestamp() + (long)(options.TimeoutSeconds * Stopwatch.Frequency);
    var live = options.Live;
    while (Stopwatch.GetTimestamp() < deadline && lost is null)
    {
        Dictionary<string, double> m;
        try
        {
            m = await ScrapeAsync();
        }
        catch (HttpRequestException)
        {
            await Task.Delay(options.SampleMs); // Not listening yet.
            continue;
        }

        if (m.TryGetValue("leaseservice_storage_healthy", out var healthy) && healthy == 1)
        {
            samples.Add((Stopwatch.GetTimestamp(), m.GetValueOrDefault("leaseservice_lease_expiries_total"), m["leaseservice_files_open"], m.GetValueOrDefault("leaseservice_lease_overdue_files"),
                m.GetValueOrDefault("dotnet_gc_pause_time_seconds_total"), m.GetValueOrDefault("dotnet_gc_collections_total")));
            if (samples[^1].Expiries > 0 && samples[^1].Open <= live)
            {
                break;
            }
        }

        await Task.Delay(options.SampleMs);
    }

    // The same renewals for a while after the backlog, same process and heap: the baseline.
    var afterFrom = Stopwatch.GetTimestamp();
    await Task.Delay(TimeSpan.FromSeconds(options.AfterSeconds));
    var afterTo = Stopwatch.GetTimestamp();
    await stop.CancelAsync();
    await Task.WhenAll(renewers);
    if (lost is not null)
    {
        Console.Error.WriteLine($"a live holder lost its lease during the backlog: {lost}");
        return 1;
    }

    var first = samples.FindIndex(s => s.Expiries > 0);
    var last = samples.Count - 1;
    if (first < 0 || samples[last].Open > live)
    {
        Console.Error.WriteLine($"the backlog was not recovered within {options.TimeoutSeconds} s: {(samples.Count == 0 ? "no sample" : $"{samples[^1].Open} open, {samples[^1].Expiries} expired so far")}");
        return 1;
    }

    // The window: from the sample before the first expiry (the backlog had not started) to the
    // sample with none left, so the rate is a lower bound.
    var from = samples[Math.Max(0, first - 1)];
    var to = samples[last];
    var recovered = to.Expiries - from.Expiries;
    var seconds = (to.At - from.At) / (double)Stopwatch.Frequency;
    long[] Window(long a, long b) => latencies.SelectMany(l => l).Where(x => x.At >= a && x.At <= b).Select(x => x.Ticks).Order().ToArray();
    var window = Window(from.At, to.At);
    var after = Window(afterFrom, afterTo);
    static double Ms(long[] w, double q) => w.Length == 0 ? double.NaN : w[Math.Min(w.Length - 1, (int)(q * w.Length))] * 1000.0 / Stopwatch.Frequency;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"step=backlog recovered={recovered:0} seconds={seconds:0.00} recoveries_per_s={recovered / seconds:0} peak_overdue={samples.Max(s => s.Overdue):0} " +
        $"renewals={window.Length} renew_p50_ms={Ms(window, 0.50):0.000} renew_p99_ms={Ms(window, 0.99):0.000} renew_max_ms={Ms(window, 1.0):0.000} " +
        $"gc_pause_ms={(to.GcPause - from.GcPause) * 1000:0} gcs={to.Gcs - from.Gcs:0} unavailable_retries={unavailable}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"step=after-backlog seconds={options.AfterSeconds} renewals={after.Length} renew_p50_ms={Ms(after, 0.50):0.000} renew_p99_ms={Ms(after, 0.99):0.000} renew_max_ms={Ms(after, 1.0):0.000}"));
    if (recovered < options.Files)
    {
        Console.Error.WriteLine($"recovered {recovered} files, expected {options.Files}");
        return 1;
    }

    return 0;
}

// Prometheus text: series name → value, summed over label sets (the scope label on every series,
// the generation on the GC's).
async Task<Dictionary<string, double>> ScrapeAsync()
{
    var text = await http.GetStringAsync(options.Metrics.TrimEnd('/') + "/metrics");
    var values = new Dictionary<string, double>(StringComparer.Ordinal);
    foreach (var line in text.Split('\n'))
    {
        if (line.Length == 0 || line[0] == '#')
        {
            continue;
        }

        var end = line.IndexOfAny(['{', ' ']);
        var space = line.LastIndexOf('}') is var close and >= 0 ? line.IndexOf(' ', close) : line.IndexOf(' ', StringComparison.Ordinal);
        var fields = space < 0 ? [] : line[(space + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (end > 0 && fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            var name = line[..end];
            values[name] = values.GetValueOrDefault(name) + value;
        }
    }

    return values;
}

/// <summary>Command-line options; null when they do not parse.</summary>
internal sealed record Options(string Step, string Target, string Metrics, int Files, int Live, int Concurrency, int RenewMs, int SampleMs, double TimeoutSeconds, int AfterSeconds)
{
    public static Options? Parse(string[] args)
    {
        if (args.Length < 1 || args[0] is not ("open" or "backlog") || args.Length % 2 != 1)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (!values.TryGetValue("target", out var target) || !values.TryGetValue("metrics", out var metrics))
        {
            return null;
        }

        int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var options = new Options(args[0], target, metrics, Int("files", 1_000_000), Int("live", 4), Int("concurrency", 64), Int("renew-ms", 50), Int("sample-ms", 100), Int("timeout-s", 1800), Int("after-s", 10));
        return options is { Files: > 0, Live: > 0, Concurrency: > 0, RenewMs: > 0, SampleMs: > 0, TimeoutSeconds: > 0, AfterSeconds: >= 0 } ? options : null;
    }
}
