using LeaseService.Core.DataNodes;
using LeaseService.DataNodes;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeaseService.Core.Tests;

/// <summary>
/// Every lease transition a caller causes is one Information event (a recovery problem a Warning)
/// with a stable id; the monitor's per-file events are Debug, summed up by one Information event per pass.
/// </summary>
public sealed class TransitionLogTests
{
    private static readonly TimeSpan Soft = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Hard = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider _time = new();
    private readonly CapturingLogger _log = new();
    private readonly SimulatedDataNodeCluster _cluster;
    private readonly LeaseManager _manager;

    public TransitionLogTests()
    {
        _cluster = new SimulatedDataNodeCluster(new SimulatedDataNodeClusterOptions(), _time, NullLogger<SimulatedDataNodeCluster>.Instance);
        _manager = new LeaseManager(new LeaseManagerOptions { SoftLimit = Soft, HardLimit = Hard }, _cluster, _time, _log);
    }

    [Fact]
    public async Task GrantAndClose_LoggedAtInformation()
    {
        _manager.AddLease("w1", "/a", "host").IsOk.Should().BeTrue();
        (await _manager.RemoveLeaseAsync("w1", "/a")).Value.Should().BeTrue();

        _log.Ids().Should().Equal(1001, 1002);
        _log.Entries.Should().OnlyContain(e => e.Level == LogLevel.Information);
    }

    [Fact]
    public void SoftLimitTakeover_LogsTakeoverCloseByRecoveryAndTheNewGrant()
    {
        _manager.AddLease("w1", "/a", "host");
        _time.Advance(Soft + TimeSpan.FromSeconds(1));
        _log.Clear();

        _manager.AddLease("w2", "/a", "host").IsOk.Should().BeTrue();

        _log.Ids().Should().Equal(1004, 1006, 1001);
    }

    [Fact]
    public void HardLimitExpiry_LogsExpiryAndCloseAtDebugThenThePassSummary()
    {
        _manager.AddLease("w1", "/a", "host");
        _time.Advance(Hard + TimeSpan.FromSeconds(1));
        _log.Clear();

        _manager.RunMonitorPass(TimeSpan.FromSeconds(1)).FilesClosed.Should().Be(1);

        _log.Ids().Should().Equal(1003, 1006, 1020);
        _log.Entries.Select(e => e.Level).Should().Equal(LogLevel.Debug, LogLevel.Debug, LogLevel.Information);
    }

    [Fact]
    public void RecoverLease_LogsRequestAndCloseByRecovery()
    {
        _manager.AddLease("w1", "/a", "host");
        _log.Clear();

        _manager.RecoverLease("/a", "ops", force: true).Value!.Closed.Should().BeTrue();

        _log.Ids().Should().Equal(1005, 1006);
    }

    [Fact]
    public async Task BlockRecoveryWithoutLiveReplica_LogsAWarning()
    {
        _manager.AddLease("w1", "/a", "host");
        var block = (await _manager.AddBlockAsync("w1", "/a")).Value!;
        (await _cluster.WriteAsync(new PipelineWrite(block.Block.Locations, block.Block.BlockId, block.Block.GenerationStamp, new byte[5]))).Status
            .Should().Be(SimulatedWriteStatus.Written);
        foreach (var dn in block.Block.Locations)
        {
            _cluster.StopDataNode(dn);
        }

        _log.Clear();

        _manager.RecoverLease("/a", null, force: true).Value!.Closed.Should().BeFalse();

        _log.Ids().Should().Equal(1005, 1014);
        _log.Entries[^1].Level.Should().Be(LogLevel.Warning);
        _log.Entries[^1].Message.Should().Contain("/a").And.Contain("no live DataNode");
    }
}
