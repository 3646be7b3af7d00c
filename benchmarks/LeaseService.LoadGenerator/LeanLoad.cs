using System.Diagnostics;
using Etcdserverpb;
using Grpc.Net.Client;
using LeaseService.Contracts.V1;
using LeaseService.LoadGenerator.H2;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

/// <summary>
/// The add, renew and etcd modes on the lean transport (<see cref="H2Load"/>): the same requests
/// and checks as on Grpc.Net.Client, a warm-up, then the measured run.
/// </summary>
internal static class LeanLoad
{
    public static async Task<int> RunAsync(LoadOptions options, string run)
    {
        var target = new Uri(options.Target);
        H2Method method;
        switch (options.Mode)
        {
            case "etcd":
                method = new H2Method(
                    "/etcdserverpb.Lease/LeaseGrant",
                    (_, _) => new LeaseGrantRequest { TTL = 3600 },
                    (_, message) =>
                    {
                        var grant = LeaseGrantResponse.Parser.ParseFrom(message);
                        return grant.ID != 0 && grant.TTL > 0 && grant.Error.Length == 0 ? null : $"LeaseGrant answered ID {grant.ID}, TTL {grant.TTL}, error '{grant.Error}'";
                    });
                break;
            case "add":
            {
                var holders = Enumerable.Range(0, options.Concurrency).Select(w => $"load-{run}-{w}").ToArray();
                method = new H2Method(
                    "/leases.v1.LeaseService/AddLease",
                    (worker, n) => new AddLeaseRequest { Holder = holders[worker], Path = $"/load/{run}/{n}", ClientMachine = "load" },
                    (request, message) =>
                    {
                        var (asked, lease) = ((AddLeaseRequest)request, AddLeaseResponse.Parser.ParseFrom(message).Lease);
                        return lease is not null && lease.Path == asked.Path && lease.Holder == asked.Holder && lease.Epoch > 0
                            ? null
                            : $"AddLease answered {lease}";
                    });
                break;
            }

            default:
            {
                RenewLeaseRequest[] holders;
                using (var channel = GrpcChannel.ForAddress(options.Target))
                {
                    holders = await RenewHolders.OpenAsync(new LeaseServiceClient(channel), run, options);
                }

                method = new H2Method(
                    "/leases.v1.LeaseService/RenewLease",
                    (_, n) => holders[n % holders.Length],
                    (_, message) =>
                    {
                        var renewed = RenewLeaseResponse.Parser.ParseFrom(message).LeasesRenewed;
                        return renewed == 1 ? null : $"RenewLease renewed {renewed} leases, expected 1";
                    });
                break;
            }
        }

        try
        {
            using var load = new H2Load(target, method, options.Concurrency, options.Connections);

            // Warm-up (connections, JIT on both sides): not timed, its errors count. Call numbers run
            // on from the warm-up's, so every AddLease opens a path never opened before.
            var warmup = load.Run(0, options.Warmup, 0, record: false);
            var end = options.Count > long.MaxValue - options.Warmup ? long.MaxValue : options.Warmup + options.Count;
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var started = Stopwatch.GetTimestamp();
            var (latencies, errors) = load.Run(options.Warmup, end, options.Seconds, record: true);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var clientCpu = Environment.CpuUsage.TotalTime - cpuBefore;
            return LoadReport.Print(options, latencies, warmup.Errors.Count + errors.Count, warmup.Errors.First ?? errors.First, elapsed, clientCpu);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // No connection, the server went away, or it would not take this many streams.
            Console.Error.WriteLine($"h2 transport to {options.Target}: {ex.Message}");
            return 1;
        }
    }
}
