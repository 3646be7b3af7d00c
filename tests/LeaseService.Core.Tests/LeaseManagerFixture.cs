using System.Diagnostics.Metrics;
using LeaseService.Core.DataNodes;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Core.Tests;

/// <summary>A lease manager on a fake clock with short, distinct limits.</summary>
internal sealed class LeaseManagerFixture
{
    public static readonly TimeSpan Soft = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan Hard = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(25);

    public LeaseManagerFixture(IDataNodeCoordinator? dataNodes = null, LeaseManagerOptions? options = null, Meter? meter = null, ILogger<LeaseManager>? logger = null)
    {
        DataNodes = dataNodes ?? TestDataNodes.None();
        Manager = new LeaseManager(options ?? new LeaseManagerOptions { SoftLimit = Soft, HardLimit = Hard }, DataNodes, Time, logger, meter, workClock: WorkClock);
    }

    /// <summary>Lease time: decides expiry.</summary>
    public FakeTimeProvider Time { get; } = new();

    /// <summary>The monitor's work clock (its lock-hold budget); stands still unless a test moves it.</summary>
    public FakeTimeProvider WorkClock { get; } = new();

    public IDataNodeCoordinator DataNodes { get; }

    public LeaseManager Manager { get; }

    public LeaseView Add(string holder, string path, string machine = "host-a")
    {
        var outcome = Manager.AddLease(holder, path, machine);
        outcome.IsOk.Should().BeTrue(outcome.ToString());
        return outcome.Value!;
    }

    public MonitorPassResult Pass() => Manager.RunMonitorPass(Budget);
}
