using LeaseService.Core.Storage;
using LeaseService.Storage.Etcd;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Storage.Tests;

/// <summary>The election's term: it ends when the session cannot be proven or the key is lost, and for nothing else.</summary>
public sealed class EtcdElectionTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    private readonly string _prefix = $"/el-{Guid.NewGuid():N}/";

    [EtcdFact]
    public async Task Active_KeepsItsTerm_WhileItsOnlyEtcdMemberRestarts_WithinTheSessionTtl()
    {
        // Its own one-member etcd, killed and started again on the same data: the session lease
        // survives (etcd keeps leases across a restart), so nothing ended the term; the watch of
        // the election key and its re-read fail meanwhile, and must only be retried.
        await using var cluster = await EtcdCluster.StartAsync(1);
        var log = new WatchFailures();
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, sessionTtl: TimeSpan.FromSeconds(10), logger: log);

        await cluster.KillMemberAsync(0);
        // etcd stays down until the watch failed, was retried and failed again (about a second
        // apart): the retry is what must not end the term.
        await Task.WhenAny(log.Twice, replica.Deposed.Task).DefaultTimeout();
        cluster.StartMember(0);
        await cluster.WaitHealthyAsync();
        await replica.Store.WriteAsync([new StoreWrite("file//after", [1])]).AsTask().DefaultTimeout();

        replica.Deposed.Task.IsCompleted.Should().BeFalse("the session was never in doubt: {0}", replica.Deposed.Task.IsCompleted ? replica.Deposed.Task.Result : "");
        replica.Election.IsLeader.Should().BeTrue();
        (await replica.Store.ReadAllAsync().ToListAsync()).Select(e => e.Key).Should().Equal(["file//after"]);
    }

    [EtcdFact]
    public async Task Active_KeepsItsTerm_WhenAKeepaliveMeetsTheConnectionEtcdDropped()
    {
        // The keepalive stream's connection goes with the member (a member restarted, one of
        // three went down): the next keepalive written to it fails, and must be retried on a
        // new stream, whatever exception the broken stream throws, not end the session at once.
        await using var cluster = await EtcdCluster.StartAsync(1);
        var log = new KeepAliveFailures();
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, sessionTtl: TimeSpan.FromSeconds(10), logger: log);

        await cluster.KillMemberAsync(0);
        await Task.WhenAny(log.First, replica.Deposed.Task).DefaultTimeout(); // The next keepalive, a quarter TTL later at most.
        cluster.StartMember(0);
        await cluster.WaitHealthyAsync();
        await replica.Store.WriteAsync([new StoreWrite("file//after", [1])]).AsTask().DefaultTimeout();

        replica.Deposed.Task.IsCompleted.Should().BeFalse("etcd was back within the session TTL: {0}", replica.Deposed.Task.IsCompleted ? replica.Deposed.Task.Result : "");
        replica.Election.IsLeader.Should().BeTrue();
    }

    [EtcdFact]
    public async Task EtcdDown_TheKeepaliveRetriesAFewTimesASecond_UntilTheSessionEnds()
    {
        // With its only member down, a new keepalive stream fails at once: the retries must pause,
        // not spin (about 40 a second, each a failed stream and a log event, before the pause).
        await using var cluster = await EtcdCluster.StartAsync(1);
        var log = new KeepAliveFailures();
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, sessionTtl: TimeSpan.FromSeconds(4), logger: log);

        await cluster.KillMemberAsync(0);
        var reason = await replica.Deposed.Task.DefaultTimeout();

        reason.Should().Contain("keepalive");
        log.Count.Should().BeInRange(1, 24, "one try every quarter second at most over a session of 4 s (minus its margin)");
    }

    [EtcdFact]
    public async Task Replica_StartedWhileEtcdIsDown_IsElectedSoonAfterEtcdComesBack()
    {
        // etcd down at start-up (or every member down for a while): the client's connection
        // attempts back off, and must not back off for long. gRPC's default grows to 2 minutes
        // (10 s between attempts after about 20 s down), and calls fail at once in between, so
        // the replica found etcd back only seconds to minutes later.
        await using var cluster = await EtcdCluster.StartAsync(1);
        await cluster.KillMemberAsync(0);
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, waitForElection: false);

        await Task.Delay(TimeSpan.FromSeconds(18)); // The outage (real time: the client's own backoff), not lease time.
        cluster.StartMember(0);
        await cluster.WaitHealthyAsync();
        var back = System.Diagnostics.Stopwatch.StartNew();

        var first = await Task.WhenAny(replica.Elected, Task.Delay(TimeSpan.FromSeconds(4)));

        first.Should().BeSameAs(replica.Elected, "etcd has been back for {0} ms", back.ElapsedMilliseconds);
        replica.Election.IsLeader.Should().BeTrue();
    }

    [EtcdFact]
    public async Task EtcdDown_TheSessionRetries_WarnOnce_NotThreeTimesASecond()
    {
        // A replica retries its session every quarter second while etcd is down: an outage of an
        // hour must not be ten thousand warnings.
        await using var cluster = await EtcdCluster.StartAsync(1);
        await cluster.KillMemberAsync(0);
        var log = new SessionFailures(8);
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, waitForElection: false, logger: log);

        await log.Reached.DefaultTimeout();

        log.Warnings.Should().Be(1, "the first failure of an outage is a warning, its retries are not");
    }

    [EtcdFact]
    public async Task GuardFailed_OfAnEarlierTerm_LeavesTheCurrentTerm_OfItsOwnTerm_EndsIt()
    {
        // A guarded write of an earlier term that failed late (etcd slow while this replica was
        // deposed and elected again) says nothing about the term now.
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        var guard = replica.Election.Guard!.Value;

        replica.Election.GuardFailed(guard - 1);
        replica.Election.IsLeader.Should().BeTrue();
        replica.Deposed.Task.IsCompleted.Should().BeFalse();

        replica.Election.GuardFailed(guard);
        (await replica.Deposed.Task.DefaultTimeout()).Should().Contain("guarded write");
    }

    /// <summary>Counts the election's "keepalive failed" events (7005); <see cref="First"/> completes at the first.</summary>
    private sealed class KeepAliveFailures : ILogger<EtcdElection>
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public Task First => _first.Task;

        public int Count => Volatile.Read(ref _count);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 7005)
            {
                Interlocked.Increment(ref _count);
                _first.TrySetResult();
            }
        }
    }

    /// <summary>Counts the election's session failures (7003 warnings, 7008 repeats); <see cref="Reached"/> completes at the given number.</summary>
    private sealed class SessionFailures(int target) : ILogger<EtcdElection>
    {
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;
        private int _warnings;

        public Task Reached => _reached.Task;

        public int Warnings => Volatile.Read(ref _warnings);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id is 7003 or 7008)
            {
                if (logLevel >= LogLevel.Warning)
                {
                    Interlocked.Increment(ref _warnings);
                }

                if (Interlocked.Increment(ref _count) == target)
                {
                    _reached.TrySetResult();
                }
            }
        }
    }

    /// <summary>Completes <see cref="Twice"/> at the election's second "watch failed" event (7006).</summary>
    private sealed class WatchFailures : ILogger<EtcdElection>
    {
        private readonly TaskCompletionSource _twice = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public Task Twice => _twice.Task;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 7006 && Interlocked.Increment(ref _count) == 2)
            {
                _twice.TrySetResult();
            }
        }
    }
}
