using System.Diagnostics;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using LeaseService.Contracts.V1;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

// Closed-loop gRPC load: CONCURRENCY calls in flight, each worker sends its next call when the last
// one answered, until COUNT calls were sent or SECONDS passed. Modes:
//   add    AddLease of distinct new paths (/load/<run>/<n>), one holder per worker
//   renew  RenewLease round-robin over HOLDERS holders, each given one open path first (not timed)
//   fill   AddLease of distinct new paths (/fill/<run>/part-NNNN/file-NNNNNNNN.parquet) across HOLDERS holders
//          (call n uses holder n % HOLDERS): COUNT files stay open, for memory measurements
//   churn  one new file per call, opened (AddLease) and closed at once (RemoveLease, closed=true
//          checked): the open-file count stays flat while the files ever written grow
//   etcd   etcd's LeaseGrant (TTL 1 h: nothing expires during a run, which would add revocations to etcd's work)
//          through etcd's generated Lease client (Etcdserverpb, from dotnet-etcd) on a channel set up as ours
// Transports:
//   grpc   (default) Grpc.Net.Client with generated clients, async workers
//   h2     add, renew and etcd only: a lean HTTP/2 client of our own (H2/), one thread per connection
//          (--connections, default 1), a few µs of client CPU per call, for measuring the servers
//          on a machine where the client shares their cores (docs/PERFORMANCE.md)
// Prints one line: mode, transport, target, concurrency, calls, errors, seconds, req/s, latency
// p50/p90/p99/max, and this process's CPU time per call (the client's share of the machine).
// Exits 1 when a call failed (the first error is printed) or none completed, 2 on bad arguments.
var options = LoadOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine("""
        usage: LeaseService.LoadGenerator --mode add|renew|fill|churn|etcd --target http://127.0.0.1:PORT
               [--concurrency 64] [--count 100000 | --seconds 10] [--holders 1000] [--warmup 2000]
               [--transport grpc|h2] [--connections 1]
        """);
    return 2;
}

var run = Guid.NewGuid().ToString("N")[..8];
if (options.Transport == "h2")
{
    return await LeanLoad.RunAsync(options, run);
}

static GrpcChannel Channel(string target) => GrpcChannel.ForAddress(target, new GrpcChannelOptions
{
    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
});

Func<int, long, Task> call;
IDisposable connection;
switch (options.Mode)
{
    case "etcd":
    {
        // etcd's generated Lease client on the same channel as ours: the same client stack to the
        // byte. (dotnet-etcd's EtcdClient wrapper cost 20-30 µs more client CPU per call here,
        // taken from the 2 cores etcd shares with the generator.)
        var channel = Channel(options.Target);
        connection = channel;
        var lease = new Lease.LeaseClient(channel);
        call = (_, _) => lease.LeaseGrantAsync(new LeaseGrantRequest { TTL = 3600 }).ResponseAsync;
        break;
    }

    default:
    {
        var channel = Channel(options.Target);
        connection = channel;
        var client = new LeaseServiceClient(channel);
        if (options.Mode == "fill")
        {
            call = (_, n) => client.AddLeaseAsync(new AddLeaseRequest { Holder = $"fill-{run}-{n % options.Holders:D6}", Path = $"/fill/{run}/part-{n % 1000:D4}/file-{n:D8}.parquet", ClientMachine = "load" }).ResponseAsync;
        }
        else if (options.Mode == "churn")
        {
            call = async (worker, n) =>
            {
                var (holder, path) = ($"churn-{run}-{worker}", $"/churn/{run}/part-{n % 1000:D4}/file-{n:D8}.parquet");
                await client.AddLeaseAsync(new AddLeaseRequest { Holder = holder, Path = path, ClientMachine = "load" });
                if (!(await client.RemoveLeaseAsync(new RemoveLeaseRequest { Holder = holder, Path = path })).Closed)
                {
                    throw new InvalidOperationException($"RemoveLease of {path} did not close it");
                }
            };
        }
        else if (options.Mode == "add")
        {
            var holders = Enumerable.Range(0, options.Concurrency).Select(w => $"load-{run}-{w}").ToArray();
            call = (worker, n) => client.AddLeaseAsync(new AddLeaseRequest { Holder = holders[worker], Path = $"/load/{run}/{n}", ClientMachine = "load" }).ResponseAsync;
        }
        else
        {
            var holders = await RenewHolders.OpenAsync(client, run, options);
            call = async (_, n) =>
            {
                var response = await client.RenewLeaseAsync(holders[n % holders.Length]);
                if (response.LeasesRenewed != 1)
                {
                    throw new InvalidOperationException($"RenewLease renewed {response.LeasesRenewed} leases, expected 1");
                }
            };
        }

        break;
    }
}

using (connection)
{
    // Warm-up (connection, JIT on both sides): its calls are not timed, its errors count.
    // Call numbers run on from the warm-up's, so every AddLease opens a path never opened before.
    var next = -1L;
    var errors = 0L;
    Exception? firstError = null;
    var started = Stopwatch.GetTimestamp();
    await RunAsync(options.Warmup, null);

    next = options.Warmup - 1; // Each warm-up worker took one number past the end on its way out.
    var latencies = new List<long>[options.Concurrency];
    var cpuBefore = Environment.CpuUsage.TotalTime;
    started = Stopwatch.GetTimestamp();
    await RunAsync(options.Count > long.MaxValue - options.Warmup ? long.MaxValue : options.Warmup + options.Count, latencies);
    var elapsed = Stopwatch.GetElapsedTime(started);
    var clientCpu = Environment.CpuUsage.TotalTime - cpuBefore;

    return LoadReport.Print(options, latencies, errors, firstError?.Message, elapsed, clientCpu);

    async Task RunAsync(long end, List<long>[]? record)
    {
        var deadline = options.Seconds > 0 && record is not null ? started + (long)(options.Seconds * Stopwatch.Frequency) : long.MaxValue;
        var workers = new Task[options.Concurrency];
        for (var w = 0; w < workers.Length; w++)
        {
            var worker = w;
            var mine = record is null ? null : record[worker] = new List<long>(1024);
            workers[w] = Task.Run(async () =>
            {
                long n;
                while ((n = Interlocked.Increment(ref next)) < end && Stopwatch.GetTimestamp() < deadline)
                {
                    var start = Stopwatch.GetTimestamp();
                    try
                    {
                        await call(worker, n);
                        mine?.Add(Stopwatch.GetTimestamp() - start);
                    }
                    catch (Exception ex) when (ex is RpcException or InvalidOperationException)
                    {
                        Interlocked.Increment(ref errors);
                        Interlocked.CompareExchange(ref firstError, ex, null);
                    }
                }
            });
        }

        await Task.WhenAll(workers);
    }
}

/// <summary>Command-line options; null when they do not parse.</summary>
internal sealed record LoadOptions(string Mode, string Target, int Concurrency, long Count, double Seconds, int Holders, long Warmup, string Transport = "grpc", int Connections = 1)
{
    public static LoadOptions? Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                return null;
            }

            values[args[i][2..]] = args[i + 1];
        }

        if (args.Length % 2 != 0 || !values.TryGetValue("mode", out var mode) || mode is not ("add" or "renew" or "fill" or "churn" or "etcd")
            || !values.TryGetValue("target", out var target))
        {
            return null;
        }

        var seconds = values.TryGetValue("seconds", out var s) ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var options = new LoadOptions(
            mode,
            target,
            Concurrency: values.TryGetValue("concurrency", out var c) ? int.Parse(c, System.Globalization.CultureInfo.InvariantCulture) : 64,
            Count: values.TryGetValue("count", out var n) ? long.Parse(n, System.Globalization.CultureInfo.InvariantCulture) : seconds > 0 ? long.MaxValue : 100_000,
            Seconds: seconds,
            Holders: values.TryGetValue("holders", out var h) ? int.Parse(h, System.Globalization.CultureInfo.InvariantCulture) : 1000,
            Warmup: values.TryGetValue("warmup", out var wu) ? long.Parse(wu, System.Globalization.CultureInfo.InvariantCulture) : 2000,
            Transport: values.GetValueOrDefault("transport", "grpc"),
            Connections: values.TryGetValue("connections", out var cn) ? int.Parse(cn, System.Globalization.CultureInfo.InvariantCulture) : 1);
        var transportFits = options.Transport == "grpc" || (options.Transport == "h2" && mode is "add" or "renew" or "etcd");
        return options.Concurrency > 0 && options.Holders > 0 && options.Warmup >= 0 && options.Connections > 0 && transportFits ? options : null;
    }
}
