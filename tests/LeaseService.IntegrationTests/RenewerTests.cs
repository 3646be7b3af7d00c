using System.Diagnostics;
using LeaseService.Client;
using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// The client library's LeaseRenewer keeps a writer's lease although every byte between it and the
/// server is held 200 ms each way. Real time is inherent here (renewals against a slow link), so
/// the server runs on the real clock with small limits (soft 4 s, hard 10 s, drift margin 300 ms,
/// renewals every 750 ms) and the test is bounded: two and a half soft limits, about 10 s.
/// </summary>
public sealed class RenewerTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(200);
    private IServerHost _server = null!;

    public async Task InitializeAsync() => _server = await ServerHost.StartAsync(new Dictionary<string, string>
    {
        ["Leases__SoftLimit"] = "00:00:04",
        ["Leases__HardLimit"] = "00:00:10",
        ["Leases__MonitorInterval"] = "00:00:00.25",
    });

    public async Task DisposeAsync()
    {
        output.WriteLine(_server.Output);
        await _server.DisposeAsync();
    }

    [OwnProcessFact]
    public async Task LeaseRenewer_ThroughASlowLink_KeepsTheLeaseWithoutTheApplicationRenewing()
    {
        await using var proxy = new DelayProxy(new Uri(_server.Address), Latency);
        using var client = LeaseClient.Create(proxy.Address);     // The writer is behind the slow link.
        using var observer = LeaseClient.Create(_server.Address); // Another holder, on a fast one.
        // The validity window is 3.7 s (soft 4 s - drift 0.3 s). Renewing every 750 ms leaves about
        // 2.5 s beyond the 400 ms round trip for a starved thread pool on a busy 2-core machine (the
        // suite's other test assemblies run alongside; with soft 3 s, CI once saw a first renewal
        // land too late): a reply processed after the bound makes the renewer rightly call the
        // lease in doubt, which is what this test must not see.
        await using var renewers = new LeaseRenewerFactory(new LeaseRenewerOptions
        {
            DriftMargin = TimeSpan.FromMilliseconds(300),
            MaxRenewalPeriod = TimeSpan.FromMilliseconds(750),
        });
        var renewer = renewers.GetRenewer(client, "itest");

        var opening = Stopwatch.StartNew();
        await using var writer = await LeaseWriter.OpenAsync(client, renewer, "slow-writer", "/slow/wal").DefaultTimeout();
        var openedIn = opening.Elapsed;
        var roundTrip = Stopwatch.StartNew();
        await observer.GetLeaseAsync("/slow/wal").DefaultTimeout();
        await client.GetLeaseAsync("/slow/wal").DefaultTimeout();
        roundTrip.Elapsed.Should().BeGreaterThanOrEqualTo(2 * Latency, "the link really is slow");

        // For two and a half soft limits the application does nothing but watch: another holder must be
        // refused, the lease must stay ACTIVE on the server, and the renewer must say HELD.
        using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(400));
        var end = Stopwatch.StartNew();
        var checks = 0;
        while (end.Elapsed < 2.5 * Soft && await ticks.WaitForNextTickAsync())
        {
            var because = $"{end.Elapsed.TotalMilliseconds:F0} ms in (open took {openedIn.TotalMilliseconds:F0} ms); renewer {renewer.GetStatus("slow-writer")}";
            var seen = await observer.GetLeaseAsync("/slow/wal").DefaultTimeout();
            seen.State.Should().Be(LeaseState.Active, because);
            seen.Holder.Should().Be("slow-writer");
            await FluentActions.Awaiting(() => observer.AddLeaseAsync("fast-taker", "/slow/wal"))
                .Should().ThrowAsync<LeaseConflictException>("no takeover while the renewer runs ({0})", because);
            if (writer.LeaseToken.IsCancellationRequested)
            {
                Assert.Fail($"the lease token tripped ({writer.Registration.AbortReason}) {because}");
            }

            // Held, or briefly JEOPARDY when a starved reply lands near the bound: never lost.
            renewer.GetStatus("slow-writer")!.IsHeld.Should().BeTrue(because);
            checks++;
        }

        checks.Should().BeGreaterThanOrEqualTo(12); // 10 s at one check per 400 ms tick (at most 25)
        (await observer.GetLeaseAsync("/slow/wal").DefaultTimeout()).Epoch.Should().Be(writer.Epoch, "never recovered or re-granted");
        await writer.CloseAsync().DefaultTimeout();
        await FluentActions.Awaiting(() => observer.GetLeaseAsync("/slow/wal")).Should().ThrowAsync<LeaseNotFoundException>("closed");
    }
}
