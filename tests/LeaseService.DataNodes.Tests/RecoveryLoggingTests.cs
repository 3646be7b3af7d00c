using LeaseService.Core.DataNodes;
using Microsoft.Extensions.Logging;

namespace LeaseService.DataNodes.Tests;

/// <summary>Block recovery logs its steps with stable event ids.</summary>
public sealed class RecoveryLoggingTests
{
    private readonly CapturingLogger _log = new();
    private readonly SimulatedDataNodeCluster _cluster;
    private readonly FakeTimeProvider _time = new();

    public RecoveryLoggingTests()
    {
        _cluster = new SimulatedDataNodeCluster(new SimulatedDataNodeClusterOptions(), _time, _log);
    }

    [Fact]
    public async Task CommittedRecovery_LogsStartPlanAndCommit()
    {
        await _cluster.WriteAsync(new PipelineWrite(_cluster.DataNodeIds, 7, 1001, new byte[10])).DefaultTimeout();
        _log.Clear();

        await _cluster.RecoverBlockAsync(new BlockRecoveryCommand(7, 1001, 1002, "dn-1", _cluster.DataNodeIds), CancellationToken.None).DefaultTimeout();

        _log.EventIds.Should().ContainInOrder(3000, 3004, 3006);
        _log.Entries.Single(e => e.EventId == 3004).Message.Should().Contain("newLength=10").And.Contain("dn-1, dn-2, dn-3");
    }

    [Fact]
    public async Task FailedRecovery_LogsEachFailureAndTheOutcome()
    {
        await _cluster.WriteAsync(new PipelineWrite(_cluster.DataNodeIds, 7, 1001, new byte[10])).DefaultTimeout();
        foreach (var dn in _cluster.DataNodeIds)
        {
            _cluster.InjectFailure(dn, RecoveryStep.UpdateReplica);
        }

        _log.Clear();

        await _cluster.RecoverBlockAsync(new BlockRecoveryCommand(7, 1001, 1002, "dn-1", _cluster.DataNodeIds), CancellationToken.None).DefaultTimeout();

        _log.EventIds.Count(id => id == 3005).Should().Be(3);
        _log.Entries.Single(e => e.EventId == 3007).Level.Should().Be(LogLevel.Warning);
    }

    [Fact]
    public async Task SupersededRecoveryAndTakeOver_AreLogged()
    {
        await _cluster.WriteAsync(new PipelineWrite(["dn-1"], 7, 1001, new byte[10])).DefaultTimeout();
        _cluster.InjectFailure("dn-1", RecoveryStep.UpdateReplica);
        await _cluster.RecoverBlockAsync(new BlockRecoveryCommand(7, 1001, 1003, "dn-1", ["dn-1"]), CancellationToken.None).DefaultTimeout();
        _log.Clear();

        await _cluster.RecoverBlockAsync(new BlockRecoveryCommand(7, 1001, 1002, "dn-1", ["dn-1"]), CancellationToken.None).DefaultTimeout();
        await _cluster.RecoverBlockAsync(new BlockRecoveryCommand(7, 1001, 1004, "dn-1", ["dn-1"]), CancellationToken.None).DefaultTimeout();

        _log.EventIds.Should().Contain(3003, "the stale recovery aborts").And.Contain(3054, "the newer one takes the replica over");
    }

    private sealed class CapturingLogger : ILogger<SimulatedDataNodeCluster>
    {
        private readonly Lock _gate = new();
        private readonly List<(int EventId, LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_gate)
                {
                    return _entries.ToArray();
                }
            }
        }

        public IReadOnlyList<int> EventIds => Entries.Select(e => e.EventId).ToArray();

        public void Clear()
        {
            lock (_gate)
            {
                _entries.Clear();
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_gate)
            {
                _entries.Add((eventId.Id, logLevel, formatter(state, exception)));
            }
        }
    }
}
