using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using LeaseService.Client;
using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.IntegrationTests;

/// <summary>
/// High availability on etcd (issue 11): a real 3-member etcd cluster on loopback and two real
/// replica processes with a 3 s session TTL (<see cref="ReplicaCluster.SessionTtl"/>). The active is killed (SIGKILL) under load or frozen
/// (SIGSTOP) past the TTL; etcd members go down. Time is real here (etcd sessions): every wait is
/// a bounded wait for an event (health Watch, an answer), never a sleep for expiry.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private const string NotActive = "not the active replica";
    private const string SimulatorService = "leases.v1.DataNodeSimulator";

    [EtcdFact]
    public async Task Standby_RefusesEveryCall_WithTheActivesUrl_AndReportsNotServing()
    {
        await using var cluster = await ReplicaCluster.StartAsync(etcdMembers: 1, replicas: 2);
        try
        {
            var active = await cluster.WaitForActiveAsync();
            var standby = 1 - active;
            await cluster.Clients[active].AddLeaseAsync("h", "/standby/a").DefaultTimeout();

            // The standby learns the active's URL through etcd once its own campaign finds the key
            // taken; until then it refuses without the trailer ("when known").
            await WaitUntilAsync(async () =>
            {
                var refused = (await cluster.Clients[standby].Invoking(c => c.RenewLeaseAsync("h")).Should().ThrowAsync<LeaseUnavailableException>()).Which;
                return refused.Trailers.GetValue("leader-url") is not null;
            });

            var calls = new Func<Task>[]
            {
                () => cluster.Clients[standby].AddLeaseAsync("h", "/standby/b"),
                () => cluster.Clients[standby].RenewLeaseAsync("h"),
                () => cluster.Clients[standby].GetLeaseAsync("/standby/a"),
                () => cluster.Clients[standby].ListLeasesAsync(),
                () => cluster.Clients[standby].GetFileAsync("/standby/a"),
            };
            foreach (var call in calls)
            {
                var refused = (await call.Should().ThrowAsync<LeaseUnavailableException>()).Which;
                refused.Status.Detail.Should().Be(NotActive);
                refused.Trailers.GetValue("leader-url").Should().Be(cluster.Replicas[active].Address);
            }

            // The simulator is a leases.v1 service too, refused on a standby: its health says so.
            var simulatorRefused = (await cluster.Clients[standby].Invoking(c => c.Simulator.ListDataNodesAsync(new ListDataNodesRequest()).ResponseAsync)
                .Should().ThrowAsync<RpcException>()).Which;
            simulatorRefused.StatusCode.Should().Be(StatusCode.Unavailable);
            simulatorRefused.Status.Detail.Should().Be(NotActive);

            (await cluster.HealthAsync(standby)).Should().Be(ServingStatus.NotServing);
            (await cluster.HealthAsync(standby, SimulatorService)).Should().Be(ServingStatus.NotServing, "every call to it is refused");
            (await cluster.HealthAsync(standby, "")).Should().Be(ServingStatus.Serving, "a standby is a healthy process");
            (await cluster.HealthAsync(active)).Should().Be(ServingStatus.Serving);
            (await cluster.HealthAsync(active, SimulatorService)).Should().Be(ServingStatus.Serving);
            (await cluster.HealthAsync(active, "")).Should().Be(ServingStatus.Serving);

            // The role as metrics, as health says it: 1 on the active, 0 on the standby. (Activations
            // are at least 1 on the active: a missed keep-alive on a busy machine may make it 2.)
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var activeMetrics = await http.GetStringAsync(await cluster.Replicas[active].MetricsUrl.DefaultTimeout()).DefaultTimeout();
            var standbyMetrics = await http.GetStringAsync(await cluster.Replicas[standby].MetricsUrl.DefaultTimeout()).DefaultTimeout();
            PrometheusSample.Value(activeMetrics, "leaseservice_replica_active").Should().Be(1);
            PrometheusSample.Value(activeMetrics, "leaseservice_replica_activations_total").Should().BeGreaterThanOrEqualTo(1);
            PrometheusSample.Value(standbyMetrics, "leaseservice_replica_active").Should().Be(0);
            PrometheusSample.Value(standbyMetrics, "leaseservice_replica_activations_total").Should().BeGreaterThanOrEqualTo(0, "exported from the start, on a replica never elected too");
        }
        catch
        {
            output.WriteLine(cluster.Output);
            throw;
        }
    }

    /// <summary>
    /// <c>LEASE_FAILOVER_KILLS</c> sets the number of kills (default 1; <c>benchmarks/ha/failover.sh</c>
    /// runs more): after each, the killed replica starts again as a standby and the next round
    /// kills the new active.
    /// </summary>
    [EtcdFact]
    public async Task ActiveKilledUnderLoad_StandbyTakesOver_NothingAcknowledgedLost_EpochsOnlyGoUp()
    {
        var kills = int.TryParse(System.Environment.GetEnvironmentVariable("LEASE_FAILOVER_KILLS"), out var k) ? k : 1;
        await using var cluster = await ReplicaCluster.StartAsync(etcdMembers: 3, replicas: 2);
        var acknowledged = new ConcurrentDictionary<string, (string Holder, ulong Epoch)>();
        var failovers = new List<TimeSpan>();
        try
        {
            var active = await cluster.WaitForActiveAsync();

            // A closed file with a committed block, before the load: it must stay closed with its block.
            var client = cluster.Clients[active];
            await client.AddLeaseAsync("closer", "/load/closed").DefaultTimeout();
            var block = await client.AddBlockAsync("closer", "/load/closed").DefaultTimeout();
            await Simulator.WriteAsync(client, block, 64, finalize: true);
            (await client.RemoveLeaseAsync("closer", "/load/closed").DefaultTimeout()).Should().BeTrue();

            for (var round = 0; round < kills; round++)
            {
                var (next, failover) = await KillUnderLoadAsync(cluster, active, round, acknowledged);
                failovers.Add(failover);
                await VerifyAfterFailoverAsync(cluster.Clients[next], acknowledged, block.Block.BlockId);
                await cluster.Replicas[active].StartAgainAsync(); // Back as a standby for the next round.
                active = next;
            }

            var sorted = failovers.Order().ToList();
            output.WriteLine($"FAILOVER kills={kills} acknowledged={acknowledged.Count} failover_ms median={sorted[sorted.Count / 2].TotalMilliseconds:F0} max={sorted[^1].TotalMilliseconds:F0} all=[{string.Join(",", failovers.Select(f => f.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)))}] (SessionTtl {ReplicaCluster.SessionTtl.TotalSeconds:0} s)");
        }
        catch
        {
            output.WriteLine(cluster.Output);
            throw;
        }
    }

    /// <summary>Concurrent writers on the active, SIGKILL mid-load; returns the new active and the time from the kill to its first acknowledged AddLease.</summary>
    private async Task<(int Next, TimeSpan Failover)> KillUnderLoadAsync(ReplicaCluster cluster, int active, int round, ConcurrentDictionary<string, (string Holder, ulong Epoch)> acknowledged)
    {
        var client = cluster.Clients[active];
        var inFlight = new ConcurrentDictionary<string, string>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var acknowledgedThisRound = 0;

        // Concurrent writers, each its own holder, each path new; stop at the first call without an answer.
        var writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            for (var n = 0; ; n++)
            {
                var path = $"/load/r{round}/w{w}/{n}";
                var holder = $"writer-{round}-{w}";
                inFlight[path] = holder;
                try
                {
                    var lease = await client.AddLeaseAsync(holder, path);
                    acknowledged[path] = (holder, lease.Epoch);
                    inFlight.TryRemove(path, out _);
                    if (Interlocked.Increment(ref acknowledgedThisRound) >= 150)
                    {
                        enough.TrySetResult();
                    }
                }
                catch (RpcException)
                {
                    return;
                }
            }
        })).ToArray();

        await enough.Task.DefaultTimeout();
        var killed = Stopwatch.StartNew();
        await cluster.Replicas[active].KillAsync();
        await Task.WhenAll(writers).DefaultTimeout();

        // Failover time: from the kill to the first successful AddLease on the other replica.
        var next = 1 - active;
        var maxAcknowledged = acknowledged.Values.Max(a => a.Epoch);
        LeaseInfo first;
        while (true)
        {
            try
            {
                first = await cluster.Clients[next].AddLeaseAsync($"after-{round}", $"/load/after-{round}").DefaultTimeout();
                break;
            }
            catch (LeaseUnavailableException) when (killed.Elapsed < LeaseService.Testing.TaskExtensions.Timeout)
            {
                // Standby until the dead active's session expires (the TTL): retried at once, as a client would.
                await Task.Delay(20);
            }
        }

        var failover = killed.Elapsed;
        output.WriteLine($"round {round}: SIGKILL to first AddLease on the new active {failover.TotalMilliseconds:F0} ms; acknowledged this round {acknowledgedThisRound}, in flight at the kill {inFlight.Count}");
        failover.Should().BeLessThan(ReplicaCluster.SessionTtl + TimeSpan.FromSeconds(10), "a standby takes over once the dead active's session expires");
        first.Epoch.Should().BeGreaterThan(maxAcknowledged, "epochs continue above everything the old active issued");
        acknowledged[$"/load/after-{round}"] = ($"after-{round}", first.Epoch);

        // What was in flight at the kill is either fully there (its holder) or absent.
        foreach (var (path, holder) in inFlight)
        {
            try
            {
                (await cluster.Clients[next].GetLeaseAsync(path).DefaultTimeout()).Holder.Should().Be(holder);
            }
            catch (LeaseNotFoundException)
            {
            }
        }

        return (next, failover);
    }

    /// <summary>Every acknowledged grant is there with its holder and epoch; epochs unique; no early takeover; the closed file kept.</summary>
    private static async Task VerifyAfterFailoverAsync(LeaseClient client, ConcurrentDictionary<string, (string Holder, ulong Epoch)> acknowledged, ulong closedBlockId)
    {
        var leases = new Dictionary<string, LeaseInfo>();
        await foreach (var lease in client.ListAllLeasesAsync(pathPrefix: "/load/"))
        {
            leases.Add(lease.Path, lease);
        }

        foreach (var (path, (holder, epoch)) in acknowledged)
        {
            leases.Should().ContainKey(path);
            leases[path].Holder.Should().Be(holder);
            leases[path].Epoch.Should().Be(epoch);
        }

        leases.Values.Select(l => l.Epoch).Should().OnlyHaveUniqueItems("an epoch is never issued twice");

        // The restored leases count as renewed at the failover plus a grace: no takeover yet.
        var takeover = () => client.AddLeaseAsync("intruder", acknowledged.Keys.First());
        await takeover.Should().ThrowAsync<LeaseConflictException>();

        var closed = await client.GetFileAsync("/load/closed").DefaultTimeout();
        closed.UnderConstruction.Should().BeFalse();
        closed.Blocks.Should().ContainSingle().Which.BlockId.Should().Be(closedBlockId);
    }

    /// <summary>
    /// The application's view of a failover: a writer opened through a client given both replicas'
    /// addresses, its lease kept by the shared <see cref="LeaseRenewer"/>, the active SIGKILLed. Soft
    /// limit 10 s: the renewer's validity window (9.7 s) spans the failover (TTL 3 s plus loading),
    /// and the watch after it lasts longer than the failover grace plus a soft limit, so the lease
    /// stays ACTIVE only if the renewer renewed it on the new active.
    /// </summary>
    [EtcdFact]
    public async Task ActiveKilled_RenewerOfAMultiAddressClient_KeepsTheWritersLease_WithoutTheApplicationNoticing()
    {
        var soft = TimeSpan.FromSeconds(10);
        var limits = new Dictionary<string, string> { ["Leases__SoftLimit"] = "00:00:10", ["Leases__HardLimit"] = "00:00:30", ["Leases__MonitorInterval"] = "00:00:00.250" };
        await using var cluster = await ReplicaCluster.StartAsync(etcdMembers: 3, replicas: 2, limits);
        try
        {
            var old = await cluster.WaitForActiveAsync();
            var next = 1 - old;

            // The application knows both replicas, the standby first: its first call is sent on.
            using var client = LeaseClient.Create([cluster.Replicas[next].Address, cluster.Replicas[old].Address]);
            await using var renewers = new LeaseRenewerFactory(new LeaseRenewerOptions
            {
                DriftMargin = TimeSpan.FromMilliseconds(300),
                MaxRenewalPeriod = TimeSpan.FromSeconds(1),
            });
            var renewer = renewers.GetRenewer(client, "ha");
            await using var writer = await LeaseWriter.OpenAsync(client, renewer, "ha-writer", "/ha/wal").DefaultTimeout();
            client.ActiveAddress.Should().Be(new Uri(cluster.Replicas[old].Address), "the standby's refusal named the active");
            var granted = await cluster.Clients[old].GetLeaseAsync("/ha/wal").DefaultTimeout();

            var killed = Stopwatch.StartNew();
            await cluster.Replicas[old].KillAsync();
            await cluster.WaitForActiveAsync(next);
            output.WriteLine($"failover: SIGKILL to the standby serving {killed.ElapsedMilliseconds} ms");

            // Longer than the grace (one TTL) plus a soft limit: without renewals on the new active
            // the lease would be soft-expired and another writer could start taking it over.
            var watch = Stopwatch.StartNew();
            var checks = 0;
            using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
            while (watch.Elapsed < ReplicaCluster.SessionTtl + soft + TimeSpan.FromSeconds(1) && await ticks.WaitForNextTickAsync())
            {
                var because = $"{watch.Elapsed.TotalMilliseconds:F0} ms after the new active served; renewer {renewer.GetStatus("ha-writer")}";
                writer.LeaseToken.IsCancellationRequested.Should().BeFalse($"the lease token must not trip ({writer.Registration.AbortReason}); {because}");
                var seen = await cluster.Clients[next].GetLeaseAsync("/ha/wal").DefaultTimeout();
                seen.Holder.Should().Be("ha-writer", because);
                seen.State.Should().Be(LeaseState.Active, because);
                seen.Epoch.Should().Be(granted.Epoch, "a failover is not a recovery");
                checks++;
            }

            checks.Should().BeGreaterThanOrEqualTo(10);
            var intruder = () => cluster.Clients[next].AddLeaseAsync("intruder", "/ha/wal");
            await intruder.Should().ThrowAsync<LeaseConflictException>();
            renewer.GetStatus("ha-writer")!.State.Should().Be(LeaseHolderState.Held);
            client.ActiveAddress.Should().Be(new Uri(cluster.Replicas[next].Address), "the client moved to the new active");

            // The writer goes on through the same client: bytes to the new active's DataNodes, and a clean close.
            (await writer.WriteAsync(new byte[16], endBlock: true).DefaultTimeout()).Should().NotBeEmpty();
            await writer.CloseAsync().DefaultTimeout();
            var file = await cluster.Clients[next].GetFileAsync("/ha/wal").DefaultTimeout();
            file.UnderConstruction.Should().BeFalse();
            file.Length.Should().Be(16);
        }
        catch
        {
            output.WriteLine(cluster.Output);
            throw;
        }
    }

    [EtcdFact]
    public async Task ActivePausedPastTheTtl_StandbyTakesOver_OldActiveServesNothingAndWritesNothing()
    {
        // Short limits: when the old active wakes up, its stale view has the lease past the hard
        // limit, so its monitor wants to recover it (a write the guard must refuse).
        var limits = new Dictionary<string, string> { ["Leases__SoftLimit"] = "00:00:01", ["Leases__HardLimit"] = "00:00:02", ["Leases__MonitorInterval"] = "00:00:00.200" };
        await using var cluster = await ReplicaCluster.StartAsync(etcdMembers: 3, replicas: 2, limits);
        using var renewing = new CancellationTokenSource();
        try
        {
            var old = await cluster.WaitForActiveAsync();
            var next = 1 - old;
            var granted = await cluster.Clients[old].AddLeaseAsync("sleeper", "/pause/x").DefaultTimeout();

            var paused = Stopwatch.StartNew();
            cluster.Replicas[old].Pause();
            (await cluster.WaitForActiveAsync(next)).Should().Be(next);
            output.WriteLine($"failover: SIGSTOP to the standby serving {paused.ElapsedMilliseconds} ms");

            // The holder renews through the new active, which therefore never recovers the path.
            var renewer = Task.Run(async () =>
            {
                while (!renewing.IsCancellationRequested)
                {
                    await cluster.Clients[next].RenewLeaseAsync("sleeper", renewing.Token);
                    await Task.Delay(200, renewing.Token);
                }
            });
            var before = await cluster.ReadDataRevisionsAsync();

            cluster.Replicas[old].Resume();

            // At once: it cannot prove it holds the election key, so it serves nothing.
            var stale = () => cluster.Clients[old].AddLeaseAsync("other", "/pause/y");
            (await stale.Should().ThrowAsync<LeaseUnavailableException>()).Which.Status.Detail.Should().Be(NotActive);
            var read = () => cluster.Clients[old].GetLeaseAsync("/pause/x");
            var leader = (await read.Should().ThrowAsync<LeaseUnavailableException>()).Which.Trailers.GetValue("leader-url");
            // Unknown until it read the key again; never itself.
            (leader is null || leader == cluster.Replicas[next].Address).Should().BeTrue($"leader-url is absent or the new active, was {leader}");

            // It steps down (its own log says so) and wrote nothing meanwhile.
            await WaitForOutputAsync(cluster.Replicas[old], "No longer the active replica");
            (await cluster.HealthAsync(old)).Should().Be(ServingStatus.NotServing);
            var after = await cluster.ReadDataRevisionsAsync();
            after.Should().Equal(before, "a deposed replica's transactions fail the election-key guard");

            // As a standby it learns the active from the election key and points clients to it.
            await WaitUntilAsync(async () =>
            {
                var refused = await read.Should().ThrowAsync<LeaseUnavailableException>();
                return refused.Which.Trailers.GetValue("leader-url") == cluster.Replicas[next].Address;
            });

            var lease = await cluster.Clients[next].GetLeaseAsync("/pause/x").DefaultTimeout();
            lease.Holder.Should().Be("sleeper");
            lease.Epoch.Should().Be(granted.Epoch);
            await renewing.CancelAsync();
            await renewer.ContinueWith(_ => { }).DefaultTimeout();
        }
        catch
        {
            await renewing.CancelAsync();
            output.WriteLine(cluster.Output);
            throw;
        }
    }

    [EtcdFact]
    public async Task EtcdMemberDown_ServiceContinues_QuorumLost_WritesUnavailable_ThenResumes()
    {
        await using var cluster = await ReplicaCluster.StartAsync(etcdMembers: 3, replicas: 2);
        try
        {
            var active = await cluster.WaitForActiveAsync();
            var kept = await cluster.Clients[active].AddLeaseAsync("h", "/quorum/before").DefaultTimeout();

            // One member down: writes still commit on the remaining two.
            await cluster.Etcd.KillMemberAsync(2);
            var during = await AddLeaseOnActiveAsync(cluster, "h", "/quorum/one-down");

            // Quorum lost: no write is acknowledged; every answer is UNAVAILABLE.
            await cluster.Etcd.KillMemberAsync(1);
            var lost = Stopwatch.StartNew();
            foreach (var client in cluster.Clients)
            {
                var write = () => client.AddLeaseAsync("h", "/quorum/lost");
                await write.Should().ThrowAsync<LeaseUnavailableException>();
            }

            output.WriteLine($"quorum lost: both replicas answered UNAVAILABLE within {lost.ElapsedMilliseconds} ms");

            // Quorum back: a replica is elected, loads the state and serves it.
            cluster.Etcd.StartMember(1);
            cluster.Etcd.StartMember(2);
            var resumed = Stopwatch.StartNew();
            await AddLeaseOnActiveAsync(cluster, "h", "/quorum/after");
            output.WriteLine($"quorum back: first AddLease acknowledged after {resumed.ElapsedMilliseconds} ms");

            var now = cluster.Clients[await cluster.WaitForActiveAsync()];
            (await now.GetLeaseAsync("/quorum/before").DefaultTimeout()).Epoch.Should().Be(kept.Epoch);
            (await now.GetLeaseAsync("/quorum/one-down").DefaultTimeout()).Epoch.Should().Be(during.Epoch);
        }
        catch
        {
            output.WriteLine(cluster.Output);
            throw;
        }
    }

    /// <summary>AddLease on whichever replica is active, retrying UNAVAILABLE (a failover in progress) within the default timeout.</summary>
    private static async Task<LeaseInfo> AddLeaseOnActiveAsync(ReplicaCluster cluster, string holder, string path)
    {
        var started = Stopwatch.StartNew();
        while (true)
        {
            var active = await cluster.WaitForActiveAsync();
            try
            {
                return await cluster.Clients[active].AddLeaseAsync(holder, path).DefaultTimeout();
            }
            catch (LeaseUnavailableException) when (started.Elapsed < LeaseService.Testing.TaskExtensions.Timeout)
            {
            }
        }
    }

    /// <summary>Asks, bounded, until <paramref name="condition"/> holds (a state another process reaches through etcd).</summary>
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var started = Stopwatch.StartNew();
        while (!await condition())
        {
            if (started.Elapsed > LeaseService.Testing.TaskExtensions.Timeout)
            {
                throw new TimeoutException($"condition not reached within {LeaseService.Testing.TaskExtensions.Timeout}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits, bounded, until the process printed <paramref name="text"/> (a log line written when the event happened).</summary>
    private static async Task WaitForOutputAsync(ServerProcess process, string text)
    {
        var started = Stopwatch.StartNew();
        while (!process.Output.Contains(text, StringComparison.Ordinal))
        {
            if (started.Elapsed > LeaseService.Testing.TaskExtensions.Timeout)
            {
                throw new TimeoutException($"'{text}' not printed within {LeaseService.Testing.TaskExtensions.Timeout}.\n{process.Output}");
            }

            await Task.Delay(20);
        }
    }
}
