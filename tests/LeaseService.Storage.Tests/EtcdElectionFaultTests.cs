using System.Runtime.CompilerServices;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using LeaseService.Storage.Etcd;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace LeaseService.Storage.Tests;

/// <summary>
/// The election when etcd misbehaves: members killed (SIGKILL), frozen (SIGSTOP: the connection
/// stays, nothing answers), unreachable while a session ends. Each test runs its own etcd.
/// Time is real (etcd's lease timers); every wait is for an event, bounded.
/// </summary>
public sealed class EtcdElectionFaultTests(ITestOutputHelper output)
{
    private const string ActiveUrl = "http://active:5050";

    // A member's count of LeaseKeepAlive streams begun: which member a replica's keepalives go to.
    private const string KeepAliveStreams = "grpc_server_started_total{grpc_method=\"LeaseKeepAlive\",grpc_service=\"etcdserverpb.Lease\",grpc_type=\"bidi_stream\"}";

    // A member's count of watchers: which member a replica's watch of the election key is on.
    private const string Watchers = "etcd_debugging_mvcc_watcher_total";

    private readonly string _prefix = $"/el-{Guid.NewGuid():N}/";

    [EtcdFact]
    public async Task Standby_StopsNamingTheActive_WhenItsSessionEnds()
    {
        // A standby names the active (leader-url trailer, health message) because its session
        // watches the election key. etcd out of reach: the session ends, the standby can no longer
        // vouch for anyone, and must not keep naming an active that may be gone meanwhile.
        await using var cluster = await EtcdCluster.StartAsync(1);
        using (var etcd = EtcdConnection.Create(cluster.Endpoints))
        {
            await HoldElectionKeyAsync(etcd, ActiveUrl);
        }

        var events = new ElectionEvents();
        await using var standby = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, waitForElection: false, sessionTtl: TimeSpan.FromSeconds(2), logger: events);
        await Poll.UntilAsync(() => standby.Election.LeaderUrl == ActiveUrl);

        await cluster.KillMemberAsync(0);
        await events.WaitForAsync(7004); // The session ended: no keepalive answered within its validity.
        await events.WaitForAsync(7003); // And the next one failed: etcd is still out of reach.

        standby.Election.LeaderUrl.Should().BeNull("the standby's session ended: it watches nothing, so it knows no active");
        standby.Election.IsLeader.Should().BeFalse();
    }

    [EtcdFact]
    public async Task Active_KeepsItsTerm_WhenTheMemberItsKeepalivesGoTo_Hangs()
    {
        // One member of three hangs (SIGSTOP: its connections stay, nothing answers, no error):
        // the active's keepalive stream is on it. Two healthy members are a quorum; the active
        // must renew its session through them, not wait on the hung one until its validity ran out.
        await using var cluster = await EtcdCluster.StartAsync(3);
        var events = new ElectionEvents();
        var ttl = TimeSpan.FromSeconds(5); // Well above etcd's election, in case the hung member is etcd's leader.
        await using var active = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, sessionTtl: ttl, logger: events);
        var hung = await cluster.WaitForMemberWithAsync(KeepAliveStreams);

        cluster.FreezeMember(hung);
        var frozen = System.Diagnostics.Stopwatch.StartNew();
        await events.WaitForAsync(7005); // A keepalive went unanswered on the hung member.
        // The validity the last answer before the freeze gave ends within a TTL of the freeze:
        // still valid after that, the session was renewed through another member.
        var first = await Task.WhenAny(active.Deposed.Task, Task.Delay(TimeSpan.FromTicks(Math.Max(0, (ttl + TimeSpan.FromSeconds(1) - frozen.Elapsed).Ticks))));

        first.Should().NotBeSameAs(active.Deposed.Task, "two members of three answer: {0}", active.Deposed.Task.IsCompleted ? active.Deposed.Task.Result : "");
        active.Election.IsLeader.Should().BeTrue();
        using var etcd = EtcdConnection.Create(cluster.EndpointsExcept(hung));
        var key = await etcd.GetAsync(new RangeRequest { Key = new EtcdKeys(_prefix).Leader }, deadline: DateTime.UtcNow.AddSeconds(10)).DefaultTimeout();
        key.Kvs.Should().ContainSingle("etcd still holds the active's session, {0} ms after the freeze", frozen.ElapsedMilliseconds)
            .Which.CreateRevision.Should().Be(active.Election.Guard);
    }

    [EtcdFact]
    public async Task Standby_TakesOver_WhenTheActiveGoes_WhileTheMemberItWatchesOn_Hangs()
    {
        // The standby's watch of the election key is on a member that hangs (SIGSTOP): no event,
        // no error, ever. The active goes (its session lease revoked through the other members,
        // as when it died and its TTL passed): the standby must find out and take over.
        await using var cluster = await EtcdCluster.StartAsync(3);
        long activeLease;
        using (var etcd = EtcdConnection.Create(cluster.Endpoints))
        {
            activeLease = await HoldElectionKeyAsync(etcd, ActiveUrl);
        }

        var events = new ElectionEvents();
        await using var standby = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, waitForElection: false, sessionTtl: TimeSpan.FromSeconds(5), logger: events);
        await Poll.UntilAsync(() => standby.Election.LeaderUrl == ActiveUrl);
        var hung = await cluster.WaitForMemberWithAsync(Watchers);

        cluster.FreezeMember(hung);
        using (var etcd = EtcdConnection.Create(cluster.EndpointsExcept(hung)))
        {
            await etcd.LeaseRevokeAsync(new LeaseRevokeRequest { ID = activeLease }, deadline: DateTime.UtcNow.AddSeconds(10)).DefaultTimeout();
        }

        var gone = System.Diagnostics.Stopwatch.StartNew();
        await standby.Elected.DefaultTimeout();
        output.WriteLine($"elected {gone.ElapsedMilliseconds} ms after the key went; events:\n{string.Join('\n', events.Events)}");

        standby.Election.IsLeader.Should().BeTrue("elected {0} ms after the active's key went", gone.ElapsedMilliseconds);
        standby.Deposed.Task.IsCompleted.Should().BeFalse();
    }

    [EtcdFact]
    public async Task Active_DeposedWhileEtcdWasDown_RevokesItsOldSession_AsSoonAsEtcdIsBack()
    {
        // The active loses its only etcd member: it steps down when its validity ends, and cannot
        // revoke its session then. etcd keeps that lease (and the election key bound to it) across
        // its restart and restarts its timer: unless revoked, the key stays a whole TTL after etcd
        // is back, and nobody can be elected meanwhile, not even the replica that held it.
        await using var cluster = await EtcdCluster.StartAsync(1);
        var events = new ElectionEvents();
        var ttl = TimeSpan.FromSeconds(6);
        await using var replica = await ElectedReplica.StartAsync(cluster.Endpoints, _prefix, sessionTtl: ttl, logger: events);

        await cluster.KillMemberAsync(0);
        await events.WaitForAsync(7002); // Deposed: no keepalive answered within its validity.
        await events.WaitForAsync(7007); // Its session could not be revoked.
        cluster.StartMember(0);
        await cluster.WaitHealthyAsync();
        var back = System.Diagnostics.Stopwatch.StartNew();
        await events.WaitForAsync(7001, count: 2);

        output.WriteLine($"elected again {back.ElapsedMilliseconds} ms after etcd was back");
        back.Elapsed.Should().BeLessThan(ttl / 2, "the old session was revoked, not left to expire; events:\n{0}", string.Join('\n', events.Events));
        events.Events.Select(e => e.Id).SkipWhile(id => id != 7007).Should().ContainInOrder([7009, 7001], "revoked as soon as etcd granted a new session, before the campaign");
        replica.Election.IsLeader.Should().BeTrue();
    }

    /// <summary>Plays an active replica of the cluster: the election key with <paramref name="url"/>, bound to a lease of its own (60 s unless revoked). Returns the lease.</summary>
    private async Task<long> HoldElectionKeyAsync(EtcdClient etcd, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var grant = await etcd.LeaseGrantAsync(new LeaseGrantRequest { TTL = 60 }, deadline: deadline).DefaultTimeout();
        await etcd.PutAsync(new PutRequest { Key = new EtcdKeys(_prefix).Leader, Value = ByteString.CopyFromUtf8(url), Lease = grant.ID }, deadline: deadline).DefaultTimeout();
        return grant.ID;
    }

}

/// <summary>Records the election's log events; <see cref="WaitForAsync"/> completes once an event id was logged a given number of times.</summary>
internal sealed class ElectionEvents : ILogger<EtcdElection>
{
    private readonly Lock _lock = new();
    private readonly List<(int Id, string Message)> _events = [];
    private readonly List<(int Id, int Count, TaskCompletionSource Done)> _waiters = [];

    /// <summary>Every event so far, in order.</summary>
    public IReadOnlyList<(int Id, string Message)> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public int Count(int id)
    {
        lock (_lock)
        {
            return _events.Count(e => e.Id == id);
        }
    }

    /// <summary>Completes (bounded by the default timeout) once <paramref name="id"/> was logged <paramref name="count"/> times.</summary>
    public Task WaitForAsync(int id, int count = 1, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_events.Count(e => e.Id == id) >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((id, count, done));
        }

        return done.Task.DefaultTimeout(file, line);
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var message = formatter(state, exception);
        List<TaskCompletionSource> done = [];
        lock (_lock)
        {
            _events.Add((eventId.Id, $"{DateTime.UtcNow:HH:mm:ss.fff} {message}"));
            var count = _events.Count(e => e.Id == eventId.Id);
            foreach (var waiter in _waiters.Where(w => w.Id == eventId.Id && count >= w.Count).ToList())
            {
                _waiters.Remove(waiter);
                done.Add(waiter.Done);
            }
        }

        foreach (var d in done)
        {
            d.TrySetResult();
        }
    }
}
