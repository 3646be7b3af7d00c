using System.Diagnostics.Metrics;
using LeaseService.Client;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Server.Tests;

/// <summary>The hosted monitor under a backlog: a pass that spends its budget is followed by the next after a short pause (at most the budget, on the real clock), not an interval later.</summary>
public sealed class MonitorBacklogTests
{
    [Fact]
    public async Task PassThatSpendsItsBudget_IsFollowedWithoutATick_UntilTheBacklogIsGone()
    {
        var time = new FakeTimeProvider();
        var work = new FakeTimeProvider { AutoAdvanceAmount = TimeSpan.FromSeconds(1) }; // Every batch spends the budget.
        await using var app = LeaseServer.Build(
            [
                "--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", "--Storage:Provider=InMemory",
                "--Leases:SoftLimit=00:00:10", "--Leases:HardLimit=00:00:30", "--Leases:MonitorInterval=00:00:02", "--Leases:MonitorBatchSize=1",
            ],
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(time);
                builder.Services.AddKeyedSingleton<TimeProvider>(LeaseServer.WorkClockKey, work);
            });
        using var passes = new MonitorPassListener(app.Services.GetRequiredService<IMeterFactory>());
        await app.StartAsync().DefaultTimeout();
        using var client = LeaseClient.Create(app.ListeningAddresses()[0]);
        foreach (var holder in new[] { "w1", "w2", "w3" })
        {
            await client.AddLeaseAsync(holder, $"/{holder}").DefaultTimeout();
        }

        for (var i = 0; i < 15; i++)
        {
            var pass = passes.NextPass;
            time.Advance(TimeSpan.FromSeconds(2)); // One tick at a time, up to exactly the hard limit: nothing expired.
            await pass.DefaultTimeout();
        }

        var before = passes.Count;
        time.Advance(TimeSpan.FromSeconds(2)); // Past the hard limit: one tick.

        // One file per pass: three passes from that one tick. Without the follow-up the second never
        // comes (the clock does not move again) and this times out.
        await passes.WhenCount(before + 3).DefaultTimeout();
        foreach (var holder in new[] { "w1", "w2", "w3" })
        {
            await FluentActions.Awaiting(() => client.GetLeaseAsync($"/{holder}")).Should().ThrowAsync<LeaseNotFoundException>();
        }

        passes.Count.Should().Be(before + 3, "the third pass left no backlog, so the loop waits for the next tick");
        await app.StopAsync().DefaultTimeout();
    }
}
