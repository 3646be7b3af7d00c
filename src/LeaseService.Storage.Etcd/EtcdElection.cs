using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using LeaseService.Storage.Etcd.Internal;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mvccpb;

namespace LeaseService.Storage.Etcd;

/// <summary>
/// Chooses the one active replica through etcd: each replica keeps a session (an etcd lease of
/// <see cref="EtcdElectionOptions.SessionTtl"/>, kept alive) and campaigns by creating the
/// election key bound to it in a transaction that succeeds only while the key does not exist
/// (create revision 0). The winner is active for as long as it can prove it still holds the key:
/// until its last successful keepalive (timed from when it was sent) plus the lease's TTL, minus
/// <see cref="EtcdElectionOptions.DriftMargin"/>. Losers watch the key and campaign again when it
/// goes (the active's session expired or it resigned). The store's writes are guarded by the
/// key's create revision (<see cref="Guard"/>), so a replica that lost the key can never write.
/// </summary>
public sealed partial class EtcdElection
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    // While etcd stays unreachable the session is retried every RetryDelay: one warning for the
    // first failure of an outage, then one a minute, the retries between at Debug.
    private static readonly TimeSpan FailureWarningInterval = TimeSpan.FromMinutes(1);

    // etcd clientv3.WithRequireLeader: a member that lost its raft leader ends the watch instead of going silent.
    private static readonly Metadata RequireLeader = new() { { "hasleader", "true" } };

    private readonly EtcdClient _client;
    private readonly EtcdKeys _keys;
    private readonly EtcdElectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _margin;
    private volatile Term? _term;
    private volatile string? _leaderUrl;
    private int _failedSessions; // Since the last session etcd granted; only RunAsync's loop touches it.

    // Sessions whose revocation failed (etcd out of reach when they ended): revoked once etcd
    // grants a session again, so an election key they still hold goes then, not a TTL later.
    // Only RunAsync's loop touches it.
    private readonly List<long> _unrevoked = [];

    /// <param name="client">The etcd client (<see cref="EtcdConnection.Create"/>); the caller owns it.</param>
    /// <param name="keys">The cluster's keys.</param>
    /// <param name="options">Session TTL, drift margin and this replica's advertised URL.</param>
    /// <param name="timeProvider">Monotonic time for the session's validity.</param>
    /// <param name="logger">Role changes at Information/Warning.</param>
    public EtcdElection(EtcdClient client, EtcdKeys keys, EtcdElectionOptions options, TimeProvider timeProvider, ILogger<EtcdElection>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (options.SessionTtl < TimeSpan.FromSeconds(1) || options.SessionTtl.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentException("SessionTtl must be a whole number of seconds, at least 1.", nameof(options));
        }

        if (options.DriftMargin < TimeSpan.Zero || options.DriftMargin >= options.SessionTtl / 2)
        {
            throw new ArgumentException("DriftMargin must be at least 0 and less than half the SessionTtl.", nameof(options));
        }

        _client = client;
        _keys = keys;
        _options = options;
        _time = timeProvider;
        _logger = logger ?? NullLogger<EtcdElection>.Instance;
        _margin = ToTimestamp(options.DriftMargin);
    }

    /// <summary>
    /// True while this replica holds the election key and can prove it: within the session's
    /// validity, measured now. Serve only while true.
    /// </summary>
    public bool IsLeader => _term is { } term && term.Session.IsValid(_time.GetTimestamp());

    /// <summary>
    /// The active replica's advertised URL when known (this replica's own while it leads and can
    /// prove it); else null — never this replica's own once it cannot prove it still leads.
    /// </summary>
    public string? LeaderUrl => _term is { } term
        ? (term.Session.IsValid(_time.GetTimestamp()) ? _options.AdvertiseUrl : null)
        : _leaderUrl;

    /// <summary>The keys of this cluster.</summary>
    public EtcdKeys Keys => _keys;

    /// <summary>
    /// The election key's create revision while this replica holds it, for guarding writes
    /// (compare it in every transaction); null otherwise.
    /// </summary>
    public long? Guard => _term?.CreateRevision;

    /// <summary>
    /// Campaigns until <paramref name="cancellationToken"/>: each time this replica wins,
    /// <paramref name="onElected"/> runs (load the state, then serve) with a token cancelled when
    /// the term ends; when the term ends, <paramref name="onDeposed"/> is told why (stop serving),
    /// the session is revoked so another replica can take over at once, and the replica campaigns
    /// again. Never throws but for cancellation; etcd errors are logged and retried.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> onElected, Action<string> onDeposed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onElected);
        ArgumentNullException.ThrowIfNull(onDeposed);
        long warned = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RunSessionAsync(onElected, onDeposed, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                var now = _time.GetTimestamp();
                if (++_failedSessions == 1 || _time.GetElapsedTime(warned, now) >= FailureWarningInterval)
                {
                    warned = now;
                    LogSessionFailed(ex.Message, _failedSessions);
                }
                else
                {
                    LogSessionFailedAgain(ex.Message, _failedSessions);
                }
            }

            try
            {
                await Task.Delay(RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>
    /// Told by the store when a write guarded by <paramref name="guard"/> failed its compare: that
    /// key is gone or another's. Ends the term it guarded at once; a later term of this replica
    /// (elected again while the write was in flight) stays.
    /// </summary>
    public void GuardFailed(long guard)
    {
        if (_term is { } term && term.CreateRevision == guard)
        {
            term.End("a guarded write found the election key gone or held by another replica");
        }
    }

    private async Task RunSessionAsync(Func<CancellationToken, Task> onElected, Action<string> onDeposed, CancellationToken cancellationToken)
    {
        var sent = _time.GetTimestamp();
        var grant = await _client.GetConnection().LeaseClient.LeaseGrantAsync(
            new LeaseGrantRequest { TTL = (long)_options.SessionTtl.TotalSeconds },
            deadline: Deadline(),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(grant.Error) || grant.TTL <= 0)
        {
            throw new InvalidOperationException($"etcd refused a session lease: {grant.Error}");
        }

        var session = new Session(grant.ID, sent + ToTimestamp(TimeSpan.FromSeconds(grant.TTL)) - _margin);
        _failedSessions = 0;
        using var sessionEnd = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var keepAlive = KeepAliveAsync(session, sessionEnd);
        try
        {
            await RevokeUnrevokedAsync(sessionEnd.Token).ConfigureAwait(false);
            while (true)
            {
                sessionEnd.Token.ThrowIfCancellationRequested();
                var (won, holder) = await CampaignAsync(session, sessionEnd.Token).ConfigureAwait(false);
                if (won)
                {
                    await LeadAsync(session, holder!.CreateRevision, onElected, onDeposed, sessionEnd).ConfigureAwait(false);
                    return;
                }

                if (holder is not null)
                {
                    // This replica vouches for the holder only while its session watches the key:
                    // however the watch ends (the key went, the session ended, stopping), it stops naming it.
                    _leaderUrl = holder.Value.IsEmpty ? null : holder.Value.ToStringUtf8();
                    try
                    {
                        await WaitUntilGoneAsync(holder.CreateRevision, holder.ModRevision, sessionEnd.Token).ConfigureAwait(false);
                    }
                    finally
                    {
                        _leaderUrl = null;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogSessionEnded(session.EndReason ?? "the session ended");
        }
        finally
        {
            await sessionEnd.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
            await RevokeAsync(session).ConfigureAwait(false);
        }
    }

    private async Task LeadAsync(Session session, long createRevision, Func<CancellationToken, Task> onElected, Action<string> onDeposed, CancellationTokenSource sessionEnd)
    {
        using var termEnd = CancellationTokenSource.CreateLinkedTokenSource(sessionEnd.Token);
        var term = new Term(session, createRevision, termEnd);
        _term = term;
        _leaderUrl = _options.AdvertiseUrl;
        LogElected(createRevision, _options.AdvertiseUrl ?? "(none)");
        try
        {
            await onElected(termEnd.Token).ConfigureAwait(false);
            await WaitUntilGoneAsync(createRevision, createRevision, termEnd.Token).ConfigureAwait(false);
            term.End("the election key was deleted or replaced");
        }
        catch (OperationCanceledException) when (termEnd.IsCancellationRequested)
        {
            // The term ended: the session could not be proven, a guarded write failed, or stopping.
        }
        finally
        {
            _term = null;
            _leaderUrl = null;
            var reason = term.Reason ?? session.EndReason ?? "the replica is stopping";
            LogDeposed(reason);
            onDeposed(reason);
        }
    }

    /// <summary>Creates the election key if nobody holds it. Won: the new key; lost: the holder's key (null when it vanished meanwhile).</summary>
    private async Task<(bool Won, KeyValue? Holder)> CampaignAsync(Session session, CancellationToken cancellationToken)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = _keys.Leader, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = _keys.Leader, Value = ByteString.CopyFromUtf8(_options.AdvertiseUrl ?? string.Empty), Lease = session.LeaseId } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = _keys.Leader } });
        var response = await _client.GetConnection().KVClient.TxnAsync(txn, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.Succeeded)
        {
            return (true, new KeyValue { Key = _keys.Leader, CreateRevision = response.Header.Revision, Lease = session.LeaseId });
        }

        var holder = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();

        // A retried campaign whose first attempt had won finds its own key.
        return holder is not null && holder.Lease == session.LeaseId ? (true, holder) : (false, holder);
    }

    /// <summary>
    /// Returns once the key with <paramref name="createRevision"/> is deleted or replaced, watching
    /// from after <paramref name="seenRevision"/>; a failed watch is re-established from a fresh
    /// read. Each watch lasts one session TTL at most, then the key is read again and watched anew:
    /// a member that hangs (keeps the connection, answers nothing) sends no event and no error,
    /// and RequireLeader cannot tell a frozen member from a quiet key.
    /// </summary>
    private async Task WaitUntilGoneAsync(long createRevision, long seenRevision, CancellationToken cancellationToken)
    {
        var kv = _client.GetConnection().KVClient;
        var watch = _client.GetConnection().WatchClient;
        while (true)
        {
            using var watchEnd = new CancellationTokenSource(_options.SessionTtl, _time);
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, watchEnd.Token);
            try
            {
                using var call = watch.Watch(RequireLeader, cancellationToken: watching.Token);
                await call.RequestStream.WriteAsync(new WatchRequest { CreateRequest = new WatchCreateRequest { Key = _keys.Leader, StartRevision = seenRevision + 1 } }, watching.Token).ConfigureAwait(false);
                while (await call.ResponseStream.MoveNext(watching.Token).ConfigureAwait(false))
                {
                    var response = call.ResponseStream.Current;
                    foreach (var change in response.Events)
                    {
                        if (change.Type == Event.Types.EventType.Delete || change.Kv.CreateRevision != createRevision)
                        {
                            return;
                        }
                    }

                    if (response.Canceled || response.CompactRevision != 0)
                    {
                        break; // Re-read below.
                    }
                }
            }
            catch (Exception) when (watchEnd.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // A TTL without news (a quiet key, or a hung member): make sure by reading it.
            }
            catch (Exception ex) when (Unreachable(ex, cancellationToken))
            {
                // The session's keepalive decides whether the term ends, not this watch.
                LogWatchFailed(ex);
                await Task.Delay(RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                // No longer than a watch either: a hung member is not waited on longer here.
                var deadline = DateTime.UtcNow + TimeSpan.FromTicks(Math.Min(CallTimeout.Ticks, _options.SessionTtl.Ticks));
                var current = await kv.RangeAsync(new RangeRequest { Key = _keys.Leader }, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (current.Kvs.Count == 0 || current.Kvs[0].CreateRevision != createRevision)
                {
                    return;
                }

                seenRevision = current.Header.Revision;
            }
            catch (Exception ex) when (Unreachable(ex, cancellationToken))
            {
                // Watch again from what was seen; the watch reports anything since.
                LogWatchFailed(ex);
                await Task.Delay(RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// An etcd call failed without <paramref name="cancellationToken"/> being cancelled: an error
    /// status, or etcd out of reach (a stream write to no connection fails as cancelled, one to a
    /// connection etcd dropped with an IOException).
    /// </summary>
    private static bool Unreachable(Exception ex, CancellationToken cancellationToken)
        => ex is (RpcException or OperationCanceledException or IOException or HttpRequestException or InvalidOperationException) && !cancellationToken.IsCancellationRequested;

    private void LogWatchFailed(Exception ex)
    {
        var (status, detail) = ex is RpcException rpc ? (rpc.Status.StatusCode, rpc.Status.Detail) : (StatusCode.Unavailable, ex.Message);
        LogWatchFailed(status, detail);
    }

    /// <summary>
    /// Keeps the session's lease alive every quarter TTL and extends its validity from each
    /// answered keepalive (timed from its sending). An answer is waited for an eighth of the TTL at
    /// most (less when the validity ends sooner), then the keepalive is sent again at once on a new
    /// stream: each new call goes to the next member of the channel's round robin (a connection of
    /// its own per member), so a member that keeps the connection but never answers (hung, frozen)
    /// costs an eighth of the TTL, not the session. The stream left is still read: an answer that
    /// comes late counts, from when its keepalive was sent. Ends the session (cancels
    /// <paramref name="sessionEnd"/>) when the validity passes without an answer or etcd says the
    /// lease is gone.
    /// </summary>
    private async Task KeepAliveAsync(Session session, CancellationTokenSource sessionEnd)
    {
        var token = sessionEnd.Token;
        var interval = _options.SessionTtl / 4;
        var answerWait = _options.SessionTtl / 8;
        KeepAliveStream? stream = null;
        KeepAliveStream? left = null; // The last stream given up on, read still for a late answer.
        try
        {
            while (!token.IsCancellationRequested)
            {
                var now = _time.GetTimestamp();
                if (!session.IsValid(now))
                {
                    session.End("no etcd keepalive was answered within the session TTL (minus the drift margin)");
                    break;
                }

                var wait = TimeSpan.FromTicks(Math.Min(answerWait.Ticks, session.Remaining(now, _time).Ticks));
                try
                {
                    stream ??= new KeepAliveStream(_client.GetConnection().LeaseClient.LeaseKeepAlive(cancellationToken: token), (sent, ttl) => OnKeepAliveAnswer(session, sessionEnd, sent, ttl), token);
                    if (!await stream.SendAsync(session.LeaseId, now, wait, _time, token).ConfigureAwait(false))
                    {
                        // The member may be hung: again at once, on a new stream (the next member).
                        LogKeepAliveFailed($"no answer within {wait.TotalMilliseconds:F0} ms");
                        if (left is not null)
                        {
                            await left.DisposeAsync().ConfigureAwait(false);
                        }

                        left = stream;
                        stream = null;
                        continue;
                    }
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    // The member went away: a new stream (round robin picks a live member).
                    // Whatever the broken stream threw (a write to a connection etcd dropped fails
                    // with the HTTP/2 stream's IOException, not an RpcException): only the
                    // validity, checked above, ends the session. A short pause first, bounded by
                    // that validity: with etcd down a new stream fails at once, and without the
                    // pause this loop tried some 40 times a second.
                    LogKeepAliveFailed(ex.Message);
                    if (stream is not null)
                    {
                        await stream.DisposeAsync().ConfigureAwait(false);
                        stream = null;
                    }

                    await PauseAsync(RetryDelay, session, token).ConfigureAwait(false);
                    continue;
                }

                if (left is not null)
                {
                    // A later keepalive was answered: the one left, sent earlier, can add nothing.
                    await left.DisposeAsync().ConfigureAwait(false);
                    left = null;
                }

                await PauseAsync(interval, session, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The session ends.
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            if (left is not null)
            {
                await left.DisposeAsync().ConfigureAwait(false);
            }

            if (session.EndReason is not null)
            {
                _term?.End(session.EndReason);
            }

            await sessionEnd.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>An answer to a keepalive sent at <paramref name="sent"/>, on whichever stream: extends the validity from then, or ends the session.</summary>
    private void OnKeepAliveAnswer(Session session, CancellationTokenSource sessionEnd, long sent, long ttl)
    {
        if (ttl > 0)
        {
            session.Extend(sent + ToTimestamp(TimeSpan.FromSeconds(ttl)) - _margin);
            return;
        }

        session.End("etcd reports the session lease expired");
        try
        {
            sessionEnd.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session is over already.
        }
    }

    /// <summary>Waits <paramref name="pause"/>, or less when the session's validity ends sooner.</summary>
    private async Task PauseAsync(TimeSpan pause, Session session, CancellationToken token)
    {
        var wait = TimeSpan.FromTicks(Math.Min(pause.Ticks, session.Remaining(_time.GetTimestamp(), _time).Ticks));
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Best effort: revoking deletes the election key at once instead of after the TTL. When etcd
    /// does not answer (an error, a timeout, a dropped connection), the session is remembered and
    /// revoked once etcd grants a session again (<see cref="RevokeUnrevokedAsync"/>).
    /// </summary>
    private async Task RevokeAsync(Session session)
    {
        try
        {
            await _client.GetConnection().LeaseClient.LeaseRevokeAsync(new LeaseRevokeRequest { ID = session.LeaseId }, deadline: DateTime.UtcNow.AddSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception ex) when (Unreachable(ex, CancellationToken.None))
        {
            _unrevoked.Add(session.LeaseId);
            LogRevokeFailed(ex, session.LeaseId);
        }
    }

    /// <summary>
    /// Revokes the sessions whose revocation failed, now that etcd granted one again: the election
    /// key of a replica that stepped down while etcd was out of reach goes now, not a TTL after
    /// etcd came back (etcd restarts its lease timers when it elects a leader). One that expired
    /// meanwhile is forgotten; one etcd still does not answer for is tried at the next session.
    /// </summary>
    private async Task RevokeUnrevokedAsync(CancellationToken cancellationToken)
    {
        for (var i = _unrevoked.Count - 1; i >= 0; i--)
        {
            var leaseId = _unrevoked[i];
            try
            {
                await _client.GetConnection().LeaseClient.LeaseRevokeAsync(new LeaseRevokeRequest { ID = leaseId }, deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: cancellationToken).ConfigureAwait(false);
                _unrevoked.RemoveAt(i);
                LogUnrevokedRevoked(Hex(leaseId));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
                _unrevoked.RemoveAt(i); // It expired meanwhile.
            }
            catch (Exception ex) when (Unreachable(ex, cancellationToken))
            {
                LogRevokeFailed(ex, leaseId);
            }
        }
    }

    private void LogRevokeFailed(Exception ex, long leaseId)
    {
        var (status, detail) = ex is RpcException rpc ? (rpc.Status.StatusCode, rpc.Status.Detail) : (StatusCode.Unavailable, ex.Message);
        LogRevokeFailed(Hex(leaseId), status, detail);
    }

    // As etcdctl shows lease ids.
    private static string Hex(long leaseId) => leaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture);

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    [LoggerMessage(7001, LogLevel.Warning, "Elected active replica (election key revision {Revision}, advertised {AdvertiseUrl})")]
    private partial void LogElected(long revision, string advertiseUrl);

    [LoggerMessage(7002, LogLevel.Warning, "No longer the active replica: {Reason}")]
    private partial void LogDeposed(string reason);

    [LoggerMessage(7003, LogLevel.Warning, "etcd session failed: {Reason}; starting a new one (failure {Failures} since etcd last granted one; repeats are logged at Debug, 7008, and again as a warning after a minute)")]
    private partial void LogSessionFailed(string reason, int failures);

    [LoggerMessage(7004, LogLevel.Information, "etcd session ended: {Reason}; starting a new one")]
    private partial void LogSessionEnded(string reason);

    [LoggerMessage(7005, LogLevel.Debug, "etcd keepalive failed: {Reason}; retrying")]
    private partial void LogKeepAliveFailed(string reason);

    [LoggerMessage(7006, LogLevel.Debug, "Watch of the election key failed ({Status}: {Detail}); re-reading and watching it again")]
    private partial void LogWatchFailed(StatusCode status, string detail);

    [LoggerMessage(7007, LogLevel.Debug, "Revoking etcd session {LeaseId} failed ({Status}: {Detail}); tried again once etcd grants a session, else it expires with its TTL")]
    private partial void LogRevokeFailed(string leaseId, StatusCode status, string detail);

    [LoggerMessage(7008, LogLevel.Debug, "etcd session failed again: {Reason}; starting a new one (failure {Failures} since etcd last granted one)")]
    private partial void LogSessionFailedAgain(string reason, int failures);

    [LoggerMessage(7009, LogLevel.Information, "Revoked etcd session {LeaseId}, left from before etcd was out of reach: the election key it held, if any, is gone")]
    private partial void LogUnrevokedRevoked(string leaseId);

    /// <summary>An etcd lease kept alive, and until when its holder can prove it is alive.</summary>
    private sealed class Session(long leaseId, long validUntil)
    {
        private long _validUntil = validUntil;
        private volatile string? _endReason;

        public long LeaseId { get; } = leaseId;

        public string? EndReason => _endReason;

        public bool IsValid(long now) => _endReason is null && now < Volatile.Read(ref _validUntil);

        public TimeSpan Remaining(long now, TimeProvider time)
        {
            var until = Volatile.Read(ref _validUntil);
            return until <= now ? TimeSpan.Zero : time.GetElapsedTime(now, until);
        }

        public void Extend(long validUntil)
        {
            // Answers may come back out of order only across streams; never move the validity back.
            long current;
            do
            {
                current = Volatile.Read(ref _validUntil);
                if (validUntil <= current)
                {
                    return;
                }
            }
            while (Interlocked.CompareExchange(ref _validUntil, validUntil, current) != current);
        }

        public void End(string reason) => _endReason ??= reason;
    }

    /// <summary>One tenure as the active replica.</summary>
    private sealed class Term(Session session, long createRevision, CancellationTokenSource end)
    {
        private volatile string? _reason;

        public Session Session { get; } = session;

        public long CreateRevision { get; } = createRevision;

        public string? Reason => _reason;

        public void End(string reason)
        {
            _reason ??= reason;
            try
            {
                end.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Already over.
            }
        }
    }
}

/// <summary>How a replica takes part in the election.</summary>
public sealed record EtcdElectionOptions
{
    /// <summary>The session lease's TTL: a dead active's key goes after it. Whole seconds, at least 1 (etcd rounds up to its minimum). Default 5 s.</summary>
    public TimeSpan SessionTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How much sooner than etcd the active assumes its session expired, for clock-rate drift
    /// between it and etcd's leader. Default 10% of <see cref="SessionTtl"/> but at least 200 ms
    /// (see <see cref="DefaultDriftMargin"/>).
    /// </summary>
    public TimeSpan DriftMargin { get; init; } = DefaultDriftMargin(TimeSpan.FromSeconds(5));

    /// <summary>The URL clients should use for this replica; stored as the election key's value. Null: unknown.</summary>
    public string? AdvertiseUrl { get; init; }

    /// <summary>The default drift margin for a TTL: 10% of it, at least 200 ms.</summary>
    public static TimeSpan DefaultDriftMargin(TimeSpan sessionTtl) => TimeSpan.FromTicks(Math.Max(sessionTtl.Ticks / 10, TimeSpan.FromMilliseconds(200).Ticks));
}
