using System.Diagnostics;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// A writer that renews at half the soft limit keeps its lease although every byte between it and
/// the server is held 200 ms each way. Real time is inherent here (renewals against a slow link),
/// so the server runs on the real clock with tiny limits (soft 2 s, hard 5 s) and the test is
/// bounded: three soft limits, about 6 s. Renewing every second leaves 0.8 s of slack for the
/// 200 ms link and a busy machine.
/// </summary>
public sealed class RenewerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(200);
    private ServerProcess _server = null!;

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(new Dictionary<string, string>
    {
        ["Leases__SoftLimit"] = "00:00:02",
        ["Leases__HardLimit"] = "00:00:05",
        ["Leases__MonitorInterval"] = "00:00:00.25",
    });

    public async Task DisposeAsync()
    {
        output.WriteLine(_server.Output);
        await _server.DisposeAsync();
    }

    [OwnProcessFact]
    public async Task RenewingAtHalfTheSoftLimit_ThroughASlowLink_LeaseStaysActive()
    {
        await using var proxy = new DelayProxy(new Uri(_server.Address), Latency);
        using var writer = LeaseClient.Create(proxy.Address);       // The writer is behind the slow link.
        using var observer = LeaseClient.Create(_server.Address);   // Another holder, on a fast one.
        var lease = await writer.AddLeaseAsync("slow-writer", "/slow/wal", "far-away").DefaultTimeout();

        // Warm up every path the loop takes (a fresh process JITs each on first use) so the timed
        // part measures the link, not the first calls.
        (await observer.GetLeaseAsync("/slow/wal").DefaultTimeout()).State.Should().Be(LeaseState.Active);
        await FluentActions.Awaiting(() => observer.AddLeaseAsync("fast-taker", "/slow/wal")).Should().ThrowAsync<LeaseConflictException>();
        await writer.RenewLeaseAsync("slow-writer").DefaultTimeout();

        var roundTrip = Stopwatch.StartNew();
        var first = await writer.RenewLeaseAsync("slow-writer").DefaultTimeout();
        roundTrip.Elapsed.Should().BeGreaterThanOrEqualTo(2 * Latency, "the link really is slow");
        first.SoftLimit.ToTimeSpan().Should().Be(Soft);

        // Stand-in for the client library's LeaseRenewer (being written on another branch; replace
        // this loop with it): one renewal in flight at a time, started every half soft limit as the
        // server reports it. Before each renewal — when the lease is oldest — another holder tries
        // to take the path and must be refused, and the lease must still be ACTIVE.
        var period = first.SoftLimit.ToTimeSpan() / 2;
        using var ticks = new PeriodicTimer(period);
        var end = Stopwatch.StartNew();
        var renewals = 0;
        var sinceRenewal = roundTrip;
        while (end.Elapsed < 3 * Soft && await ticks.WaitForNextTickAsync())
        {
            var seen = await observer.GetLeaseAsync("/slow/wal").DefaultTimeout();
            var because = $"{sinceRenewal.Elapsed.TotalMilliseconds:F0} ms after renewal {renewals} was answered, {end.Elapsed.TotalMilliseconds:F0} ms in";
            seen.State.Should().Be(LeaseState.Active, because);
            seen.Holder.Should().Be("slow-writer");
            await FluentActions.Awaiting(() => observer.AddLeaseAsync("fast-taker", "/slow/wal")).Should().ThrowAsync<LeaseConflictException>("no takeover while the writer renews ({0})", because);

            var renewed = await writer.RenewLeaseAsync("slow-writer").DefaultTimeout(); // NOT_FOUND here would mean the lease was lost.
            renewed.LeasesRenewed.Should().Be(1);
            sinceRenewal.Restart();
            renewals++;
        }

        renewals.Should().BeGreaterThanOrEqualTo(4);
        var last = await observer.GetLeaseAsync("/slow/wal").DefaultTimeout();
        last.State.Should().Be(LeaseState.Active);
        last.Epoch.Should().Be(lease.Epoch, "never recovered or re-granted");
        (await writer.RemoveLeaseAsync("slow-writer", "/slow/wal").DefaultTimeout()).Should().BeTrue();
    }
}
