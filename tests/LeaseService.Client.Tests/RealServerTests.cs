using System.Text;
using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using Grpc.Net.Client;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>
/// The renewer and the writer against the real server over HTTP/2, sharing its fake clock
/// (soft 10 s, hard 30 s, monitor every 2 s).
/// </summary>
public sealed class RealServerTests : IAsyncLifetime
{
    private ServerFixture _server = null!;
    private LeaseRenewerFactory _factory = null!;
    private LeaseRenewer _renewer = null!;
    private RenewerTestClock _clock = null!;

    private LeaseClient Client => _server.Client;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        _clock = new RenewerTestClock(_server.Time);
        _factory = new LeaseRenewerFactory(new LeaseRenewerOptions { TimeProvider = _clock, RetryJitter = 0 });
        _renewer = _factory.GetRenewer(Client, "alice");
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Advances server and renewer time together, letting each renewer pass and monitor pass finish.</summary>
    private async Task AdvanceAsync(TimeSpan total)
    {
        var step = TimeSpan.FromSeconds(1);
        for (var done = TimeSpan.Zero; done < total; done += step)
        {
            await _clock.WhenIdleAsync().DefaultTimeout();
            await _server.AdvanceWithMonitorAsync(step);
            await _clock.WhenIdleAsync().DefaultTimeout();
        }
    }

    [Fact]
    public async Task Writer_OpensWritesBlocksAndCloses_WithTheEpochOnEveryWrite()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a", new LeaseWriterOptions { ClientMachine = "host-1" }).DefaultTimeout();
        writer.Epoch.Should().BeGreaterThan(0);
        _renewer.IsRunning.Should().BeTrue();

        var replicas = await writer.WriteAsync(Encoding.UTF8.GetBytes("hello "), endBlock: true).DefaultTimeout();
        replicas.Should().NotBeEmpty().And.OnlyContain(r => r.State == ReplicaState.Finalized);
        await writer.WriteAsync(Encoding.UTF8.GetBytes("world")).DefaultTimeout();
        await writer.CloseAsync().DefaultTimeout();

        writer.IsClosed.Should().BeTrue();
        writer.LeaseToken.IsCancellationRequested.Should().BeTrue("a closed path's token trips");
        var file = await Client.GetFileAsync("/logs/a").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(11);
        file.Blocks.Should().HaveCount(2);
        _renewer.GetStatus("client-1").Should().BeNull();
    }

    [Fact]
    public async Task Renewer_KeepsTheLeaseAlivePastTheHardLimit_WithoutTheApplicationRenewing()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();

        await AdvanceAsync(TimeSpan.FromSeconds(45));

        var lease = await Client.GetLeaseAsync("/logs/a").DefaultTimeout();
        lease.Holder.Should().Be("client-1");
        lease.State.Should().Be(LeaseState.Active);
        writer.Registration.IsHeld.Should().BeTrue();
        _renewer.GetStatus("client-1")!.State.Should().Be(LeaseHolderState.Held);
        await writer.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();
        await writer.CloseAsync().DefaultTimeout();
    }

    [Fact]
    public async Task SharedRenewer_OutlivesTheFirstClientOfItsUser_RenewsThroughTheNextClient()
    {
        // The README's pattern run twice in one process: a client per job, disposed after it.
        using (var first = LeaseClient.Create(_server.Address))
        {
            var firstRenewer = _factory.GetRenewer(first, "etl");
            await using var done = await LeaseWriter.OpenAsync(first, firstRenewer, "etl-1", "/jobs/1").DefaultTimeout();
            await done.CloseAsync().DefaultTimeout();
        }

        using var second = LeaseClient.Create(_server.Address);
        var renewer = _factory.GetRenewer(second, "etl");
        await using var writer = await LeaseWriter.OpenAsync(second, renewer, "etl-2", "/jobs/2").DefaultTimeout();

        await AdvanceAsync(TimeSpan.FromSeconds(45)); // Past the hard limit: only renewals keep it.

        var status = renewer.GetStatus("etl-2")!;
        writer.Registration.IsHeld.Should().BeTrue($"the second client works (last renewal error: {status.LastError?.Message})");
        status.ConsecutiveFailures.Should().Be(0);
        (await Client.GetLeaseAsync("/jobs/2").DefaultTimeout()).Holder.Should().Be("etl-2");
        await writer.CloseAsync().DefaultTimeout();
    }

    [Fact]
    public async Task ForcedRecoveryByAnOperator_RenewerSeesNotFound_HolderLost_WriterStops_OtherHolderUnaffected()
    {
        await using var victim = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await using var bystander = await LeaseWriter.OpenAsync(Client, _renewer, "client-2", "/logs/b").DefaultTimeout();
        using var stop = new CancellationTokenSource();
        var changes = _renewer.WatchAsync(stop.Token).GetAsyncEnumerator();
        var lost = changes.MoveNextAsync().AsTask();

        (await Client.RecoverLeaseAsync("/logs/a", "operator", force: true).DefaultTimeout()).Closed.Should().BeTrue();
        await AdvanceAsync(TimeSpan.FromSeconds(5));

        (await lost.DefaultTimeout()).Should().BeTrue();
        changes.Current.Should().Match<LeaseStateChange>(c => c.Holder == "client-1" && c.Current == LeaseHolderState.Lost && c.Reason == LeaseAbortReason.HolderNotFound);
        victim.LeaseToken.IsCancellationRequested.Should().BeTrue();
        var error = await FluentActions.Awaiting(() => victim.WriteAsync(new byte[] { 1 })).Should().ThrowAsync<LeaseLostException>();
        error.Which.Reason.Should().Be(LeaseAbortReason.HolderNotFound);

        await AdvanceAsync(TimeSpan.FromSeconds(40));
        bystander.Registration.IsHeld.Should().BeTrue();
        await bystander.WriteAsync(new byte[] { 1 }).DefaultTimeout();
        await bystander.CloseAsync().DefaultTimeout();
        await stop.CancelAsync();
    }

    [Fact]
    public async Task ForcedRecoveryOfOnePath_WhileTheHolderKeepsAnAbortedOne_WriterOfTheTakenPathStops()
    {
        var aborted = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/aborted").DefaultTimeout();
        await using var victim = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/victim").DefaultTimeout();
        aborted.Abort(); // Still the holder's on the server: every renewal of client-1 renews it too.

        (await Client.RecoverLeaseAsync("/logs/victim", "operator", force: true).DefaultTimeout()).Closed.Should().BeTrue();
        await AdvanceAsync(TimeSpan.FromSeconds(6));

        victim.Registration.AbortReason.Should().Be(LeaseAbortReason.Revoked, "the server renewed one path of client-1, and it was the aborted one");
        victim.Registration.IsHeld.Should().BeFalse();
    }

    [Fact]
    public async Task Abort_WhileTheHolderHasAnotherPathOpen_TheFileStaysTheHoldersUntilThatOneCloses()
    {
        var aborted = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/aborted").DefaultTimeout();
        await using var open = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/open").DefaultTimeout();
        await aborted.DisposeAsync();

        await AdvanceAsync(ServerFixture.Hard + TimeSpan.FromSeconds(4));
        (await Client.GetLeaseAsync("/logs/aborted").DefaultTimeout()).Holder.Should().Be("client-1", "RenewLease renews every path of the holder, the aborted one too");

        await open.CloseAsync().DefaultTimeout();
        await AdvanceAsync(ServerFixture.Hard + TimeSpan.FromSeconds(4));
        await _server.AdvanceWithMonitorAsync(ServerFixture.Interval);
        await _server.Leases.WhenRecoveriesIdleAsync().DefaultTimeout();
        (await Client.GetFileAsync("/logs/aborted").DefaultTimeout()).UnderConstruction.Should().BeFalse("once nothing renews client-1, the server recovers it");
    }

    [Fact]
    public async Task StaleWriter_AfterForcedRecovery_WriteFencedByTheEpoch_BeforeTheRenewerNotices()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2 }).DefaultTimeout();
        await Client.RecoverLeaseAsync("/logs/a", "operator", force: true).DefaultTimeout();
        writer.Registration.IsHeld.Should().BeTrue("the renewer has not renewed since");

        var act = () => writer.WriteAsync(new byte[] { 3 });

        await act.Should().ThrowAsync<LeaseFencedException>();
        writer.Registration.AbortReason.Should().Be(LeaseAbortReason.Fenced);
        await FluentActions.Awaiting(() => writer.WriteAsync(new byte[] { 4 })).Should().ThrowAsync<LeaseLostException>();
    }

    [Fact]
    public async Task StaleWriter_AfterTakeover_NextBlockRefused_AsLeaseLost()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        (await Client.RecoverLeaseAsync("/logs/a", "operator", force: true).DefaultTimeout()).Closed.Should().BeTrue();
        await Client.AddLeaseAsync("client-2", "/logs/a").DefaultTimeout();

        var error = await FluentActions.Awaiting(() => writer.WriteAsync(new byte[] { 3 })).Should().ThrowAsync<LeaseLostException>();

        error.Which.Reason.Should().Be(LeaseAbortReason.Revoked);
        (await Client.GetLeaseAsync("/logs/a").DefaultTimeout()).Holder.Should().Be("client-2");
    }

    [Fact]
    public async Task Open_PathHeldByAnother_Conflict_NothingRegistered()
    {
        await using var first = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();

        await FluentActions.Awaiting(() => LeaseWriter.OpenAsync(Client, _renewer, "client-2", "/logs/a")).Should().ThrowAsync<LeaseConflictException>();

        _renewer.GetStatus("client-2").Should().BeNull();
    }

    [Fact]
    public async Task Abort_LeavesTheFileToTheServer_WhichRecoversItAfterTheHardLimit()
    {
        var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();

        await writer.DisposeAsync(); // not closed: aborted
        writer.Registration.AbortReason.Should().Be(LeaseAbortReason.Unregistered);
        // AdvanceAsync's 1 s steps are shorter than the monitor's interval, so they wait for no
        // pass: end with one whole interval whose pass is waited for (it finds the lease past the
        // hard limit), else the check below can run before that pass (CI saw it once).
        await AdvanceAsync(ServerFixture.Hard + TimeSpan.FromSeconds(4));
        await _server.AdvanceWithMonitorAsync(ServerFixture.Interval);
        await _server.Leases.WhenRecoveriesIdleAsync().DefaultTimeout(); // The monitor's block recovery runs in the background.

        var file = await Client.GetFileAsync("/logs/a").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(3);
    }

    [Fact]
    public async Task ServerGone_RenewalsFail_JeopardyThenTokenTripsAtTheBound_ThenLostAtTheHardLimit()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        using var stop = new CancellationTokenSource();
        var changes = _renewer.WatchAsync(stop.Token).GetAsyncEnumerator();
        var jeopardy = changes.MoveNextAsync().AsTask();
        await _server.App.StopAsync().DefaultTimeout();

        await AdvanceRenewerOnlyAsync(TimeSpan.FromSeconds(6));
        (await jeopardy.DefaultTimeout()).Should().BeTrue();
        changes.Current.Current.Should().Be(LeaseHolderState.Jeopardy);
        changes.Current.Error.Should().BeAssignableTo<LeaseUnavailableException>(changes.Current.Error?.ToString());
        writer.Registration.IsHeld.Should().BeTrue("the bound (sent + 10 s − 2 s) has not passed");

        await AdvanceRenewerOnlyAsync(TimeSpan.FromSeconds(2));
        writer.LeaseToken.IsCancellationRequested.Should().BeTrue();
        writer.Registration.AbortReason.Should().Be(LeaseAbortReason.ValidityExpired);
        (await FluentActions.Awaiting(() => writer.WriteAsync(new byte[] { 1 })).Should().ThrowAsync<LeaseLostException>())
            .Which.Reason.Should().Be(LeaseAbortReason.ValidityExpired);

        var lost = changes.MoveNextAsync().AsTask();
        await AdvanceRenewerOnlyAsync(TimeSpan.FromSeconds(22));
        (await lost.DefaultTimeout()).Should().BeTrue();
        changes.Current.Should().Match<LeaseStateChange>(c => c.Current == LeaseHolderState.Lost && c.Reason == LeaseAbortReason.HardLimitExceeded);
        _renewer.GetStatus("client-1").Should().BeNull();
        await stop.CancelAsync();
    }

    /// <summary>Moves the shared clock while the server is down (no monitor passes to wait for).</summary>
    private async Task AdvanceRenewerOnlyAsync(TimeSpan total)
    {
        var step = TimeSpan.FromMilliseconds(250);
        for (var done = TimeSpan.Zero; done < total; done += step)
        {
            await _clock.WhenIdleAsync().DefaultTimeout();
            _server.Time.Advance(step);
            await _clock.WhenIdleAsync().DefaultTimeout();
        }
    }

    [Fact]
    public async Task Close_NotClosedYet_RetriedWithBackoffUntilClosed_LeaseRenewedMeanwhile()
    {
        using var handler = new NotYetClosedHandler(times: 2, _server.Time);
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new LeaseClient(channel);
        var writer = await LeaseWriter.OpenAsync(client, _renewer, "client-1", "/logs/a", new LeaseWriterOptions { CloseRetryInitialDelay = TimeSpan.FromSeconds(1) }).DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();

        var close = writer.CloseAsync();
        for (var i = 0; i < 2; i++)
        {
            var retryArmed = await handler.Served.ReadAsync().AsTask().DefaultTimeout();
            await retryArmed.DefaultTimeout();
            close.IsCompleted.Should().BeFalse("closed=false is retried after a pause");
            writer.Registration.IsHeld.Should().BeTrue("the path stays registered and renewed while closing");
            _server.Time.Advance(TimeSpan.FromSeconds(2));
        }

        await close.DefaultTimeout();
        handler.RemoveCalls.Should().Be(3);
        writer.IsClosed.Should().BeTrue();
        (await Client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeFalse();
        _renewer.GetStatus("client-1").Should().BeNull();
    }

    [Fact]
    public async Task Close_AnswerLost_RetryFindsTheFileClosedAtOurEpoch_Succeeds()
    {
        using var handler = new LostRemoveReplyHandler(_server.Time);
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new LeaseClient(channel);
        var writer = await LeaseWriter.OpenAsync(client, _renewer, "client-1", "/logs/a", new LeaseWriterOptions { CloseRetryInitialDelay = TimeSpan.FromSeconds(1) }).DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();

        var close = writer.CloseAsync();
        await (await handler.RetryArmed.DefaultTimeout()).DefaultTimeout();
        _server.Time.Advance(TimeSpan.FromSeconds(2));
        await close.DefaultTimeout(); // Not LeaseLostException: the retry's NOT_FOUND is our own close.

        handler.RemoveCalls.Should().Be(2);
        writer.IsClosed.Should().BeTrue();
        (await Client.GetFileAsync("/logs/a").DefaultTimeout()).Should().Match<Contracts.V1.FileInfo>(f => !f.UnderConstruction && f.Length == 3);
    }

    [Fact]
    public async Task Close_AnswerOfTheFinalizingWriteLost_RetriedCloseClosesTheFile()
    {
        using var link = new LossyLink(_server.Address, lose: 2);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2, 3 }).DefaultTimeout();

        // The close's write finalizes every replica, and its answer is lost: a transient failure.
        await FluentActions.Awaiting(() => writer.CloseAsync()).Should().ThrowAsync<LeaseUnavailableException>();
        var replicas = await Client.CallAsync(o => Client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = writer.CurrentBlock!.BlockId }, o)).DefaultTimeout();
        replicas.Replicas.Should().OnlyContain(r => r.State == ReplicaState.Finalized && r.NumBytes == 3);

        // The retry cannot finalize them again (a FINALIZED replica takes no write at its stamp), and need not.
        await writer.CloseAsync().DefaultTimeout();

        writer.IsClosed.Should().BeTrue();
        (await Client.GetFileAsync("/logs/a").DefaultTimeout()).Should().Match<Contracts.V1.FileInfo>(f => !f.UnderConstruction && f.Length == 3);
        _renewer.GetStatus("client-1").Should().BeNull();
    }

    [Fact]
    public async Task Open_SamePathTwiceInOneProcess_RefusedWithoutClosingTheFirstWritersFile()
    {
        await using var first = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();

        await FluentActions.Awaiting(() => LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a")).Should().ThrowAsync<InvalidOperationException>();

        (await Client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeTrue("the first writer's file stays open");
        first.Registration.IsHeld.Should().BeTrue();
        await first.WriteAsync(new byte[] { 1 }, endBlock: true).DefaultTimeout();
        await first.CloseAsync().DefaultTimeout();
    }

    [Fact]
    public async Task Close_AfterAbort_Refused_TheFileIsLeftToRecovery()
    {
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();

        writer.Abort();

        await FluentActions.Awaiting(() => writer.CloseAsync()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*aborted*");
        writer.IsClosed.Should().BeFalse();
        var file = await Client.GetFileAsync("/logs/a").DefaultTimeout();
        file.UnderConstruction.Should().BeTrue("an aborted writer's file is closed by lease recovery, not by the writer");
    }

    [Fact]
    public async Task Write_WithTheLeaseTokenAsCallerToken_LeaseLostIsReportedAsLeaseLost()
    {
        var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        foreach (var dn in new[] { "dn-1", "dn-2", "dn-3" })
        {
            await Client.CallAsync(o => Client.Simulator.PauseDataNodeAsync(new DataNodeRequest { DatanodeId = dn }, o)).DefaultTimeout();
        }

        try
        {
            var write = writer.WriteAsync(new byte[] { 1 }, endBlock: true, writer.LeaseToken); // Hangs on the paused DataNodes.
            writer.Abort(); // The lease token trips.

            (await FluentActions.Awaiting(() => write).Should().ThrowAsync<LeaseLostException>()).Which.Reason.Should().Be(LeaseAbortReason.Unregistered);
        }
        finally
        {
            foreach (var dn in new[] { "dn-1", "dn-2", "dn-3" })
            {
                await Client.CallAsync(o => Client.Simulator.ResumeDataNodeAsync(new DataNodeRequest { DatanodeId = dn }, o)).DefaultTimeout();
            }

            await writer.DisposeAsync();
        }
    }

    [Fact]
    public async Task Reopen_AfterTheValidityBoundTrippedTheWriter_OpensAgainAndTheOldWriterCannotCloseIt()
    {
        using var handler = new RenewalOutageHandler();
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        var client = new LeaseClient(channel);
        var renewer = _factory.GetRenewer(client, "bob");
        var first = await LeaseWriter.OpenAsync(client, renewer, "client-1", "/logs/a").DefaultTimeout();
        await first.WriteAsync(new byte[] { 1, 2, 3 }, endBlock: true).DefaultTimeout();

        handler.FailRenewals = true; // A network blip: renewals fail until the writer's validity bound passes.
        await AdvanceAsync(TimeSpan.FromSeconds(9));
        first.Registration.AbortReason.Should().Be(LeaseAbortReason.ValidityExpired);
        handler.FailRenewals = false; // Back: the next retry renews, and the lease is still ours.
        await AdvanceAsync(TimeSpan.FromSeconds(1));
        renewer.GetStatus("client-1")!.State.Should().Be(LeaseHolderState.Held);

        // README: a tripped token stays tripped; to write again, open the path again.
        await using var again = await LeaseWriter.OpenAsync(client, renewer, "client-1", "/logs/a").DefaultTimeout();
        await again.WriteAsync(new byte[] { 4 }, endBlock: true).DefaultTimeout();
        await FluentActions.Awaiting(() => first.CloseAsync()).Should().ThrowAsync<InvalidOperationException>("closing the aborted writer would close the new one's file");
        await first.DisposeAsync();
        (await client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeTrue("nothing closed the reopened file");

        await again.CloseAsync().DefaultTimeout();
        (await client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task Open_TwiceAtOnceInOneProcess_OneWinsAndTheLoserDoesNotCloseItsFile()
    {
        var opens = new[] { LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a"), LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a") };
        var writers = new List<LeaseWriter>();
        var refused = 0;
        foreach (var open in opens)
        {
            try
            {
                writers.Add(await open.DefaultTimeout());
            }
            catch (InvalidOperationException)
            {
                refused++;
            }
        }

        writers.Should().ContainSingle();
        refused.Should().Be(1);
        await using var winner = writers[0];
        (await Client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeTrue("the winner's file stays open");
        await winner.WriteAsync(new byte[] { 1 }, endBlock: true).DefaultTimeout();
        await winner.CloseAsync().DefaultTimeout();
    }

    /// <summary>Passes every call to the server, except RenewLease while <see cref="FailRenewals"/> is set: those lose their connection.</summary>
    private sealed class RenewalOutageHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public volatile bool FailRenewals;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            => FailRenewals && request.RequestUri!.AbsolutePath.EndsWith("/RenewLease", StringComparison.Ordinal)
                ? throw new HttpRequestException(HttpRequestError.ConnectionError, "connection reset", new IOException("reset"))
                : base.SendAsync(request, cancellationToken);
    }
}
