using Grpc.Core;
using LeaseService.Client.Internal.Failover;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests.Failover;

/// <summary>
/// <see cref="FailoverCallInvoker"/> under a <see cref="LeaseClient"/>, against scripted in-process
/// replicas: whom it follows, what it retries, and how far.
/// </summary>
public sealed class FailoverRoutingTests : IDisposable
{
    private const string A = "http://a:5050/";
    private const string B = "http://b:5050/";
    private const string C = "http://c:5050/";
    private const string AddLease = "/leases.v1.LeaseService/AddLease";
    private const string RenewLease = "/leases.v1.LeaseService/RenewLease";

    private readonly ScriptedReplicas _replicas = new();
    private FailoverCallInvoker? _invoker;

    public void Dispose() => _invoker?.Dispose();

    [Fact]
    public async Task StandbyNamesTheActive_FollowedAtOnce_LaterCallsGoStraightThere()
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Standby(leader: "http://B:5050"));
        _replicas.Answer(B, Active);
        var client = Client(A, B, C);

        (await client.AddLeaseAsync("w", "/a").DefaultTimeout()).Holder.Should().Be("w");
        await client.RenewLeaseAsync("w").DefaultTimeout();
        await client.GetLeaseAsync("/a").DefaultTimeout();

        _replicas.Calls.Should().Equal((new Uri(A), AddLease), (new Uri(B), AddLease), (new Uri(B), RenewLease), (new Uri(B), "/leases.v1.LeaseService/GetLease"));
        _replicas.Connects.Should().BeEquivalentTo(new Dictionary<Uri, int> { [new Uri(A)] = 1, [new Uri(B)] = 1 }, "channels open on first use, once");
        _invoker!.Active.Should().Be(new Uri(B));
    }

    [Fact]
    public async Task StandbyNamesAnAddressNotConfigured_NeverContacted_NextAddressTried()
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Standby(leader: "http://attacker.example:5050"));
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await client.AddLeaseAsync("w", "/a").DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
        _replicas.Connects.Keys.Should().BeEquivalentTo([new Uri(A), new Uri(B)]);
    }

    [Fact]
    public async Task StandbyWithoutHint_NextAddressTried()
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Standby());
        _replicas.Answer(B, _ => ScriptedReplicas.Standby());
        _replicas.Answer(C, Active);
        var client = Client(A, B, C);

        await client.AddBlockAsync("w", "/a").DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(C));
    }

    [Theory]
    [InlineData("AddLease")]
    [InlineData("RemoveLease")]
    [InlineData("AddBlock")]
    [InlineData("RecoverLease")]
    public async Task ConnectionRefused_EvenAWrite_TriedAtTheNextAddress(string method)
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Refused());
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await Invoke(client, method).DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
    }

    [Theory]
    [InlineData("AddLease")]
    [InlineData("RemoveLease")]
    [InlineData("AddBlock")]
    [InlineData("RecoverLease")]
    public async Task ConnectionLostMidCall_Write_NotRetried_TheFailureSurfaces(string method)
    {
        // The active may have applied it: repeating a close could report NOT_FOUND for a close that happened.
        _replicas.Answer(A, _ => ScriptedReplicas.LostMidCall());
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        var failure = await FluentActions.Awaiting(() => Invoke(client, method)).Should().ThrowAsync<LeaseUnavailableException>();

        failure.Which.Status.DebugException.Should().BeOfType<HttpRequestException>();
        _replicas.Calls.Should().ContainSingle().Which.Address.Should().Be(new Uri(A));
    }

    [Theory]
    [InlineData("RenewLease")]
    [InlineData("GetLease")]
    [InlineData("ListLeases")]
    [InlineData("GetFile")]
    public async Task ConnectionLostMidCall_ReadOrRenew_RetriedAtTheNextAddress(string method)
    {
        _replicas.Answer(A, _ => ScriptedReplicas.LostMidCall());
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await Invoke(client, method).DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
    }

    [Theory]
    [InlineData("RenewLease")]
    [InlineData("GetFile")]
    public async Task ClosedByTheServer_ReadOrRenew_RetriedAtTheNextAddress(string method)
    {
        // A server stopping (GOAWAY, NO_ERROR) surfaces as INTERNAL from Grpc.Net.Client; it is the
        // server going away, not a bug in it: a renewal must reach the next replica.
        _replicas.Answer(A, _ => ScriptedReplicas.ClosedByServer());
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await Invoke(client, method).DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
    }

    [Fact]
    public async Task ClosedByTheServer_Write_NotRetried_SurfacesAsUnavailable()
    {
        // Its outcome is unknown, as after a lost connection: not repeated, and transient to the caller.
        _replicas.Answer(A, _ => ScriptedReplicas.ClosedByServer());
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/a")).Should().ThrowAsync<LeaseUnavailableException>();

        _replicas.Calls.Should().ContainSingle().Which.Address.Should().Be(new Uri(A));
    }

    [Fact]
    public void OtherInternalFailures_StayInternal()
    {
        var failure = LeaseServiceException.From(new RpcException(new Status(StatusCode.Internal, "server bug", new HttpRequestException(HttpRequestError.HttpProtocolError, "protocol error", new HttpProtocolException(1, "PROTOCOL_ERROR", null)))));

        failure.Should().BeOfType<LeaseServiceException>();
    }

    [Fact]
    public async Task TheActivesOwnUnavailable_Write_NotRetried()
    {
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.Unavailable, "lease recovery in progress")));
        var client = Client(A, B);

        (await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/a")).Should().ThrowAsync<LeaseUnavailableException>())
            .Which.Status.Detail.Should().Be("lease recovery in progress");
        _replicas.Calls.Should().ContainSingle();
    }

    [Fact]
    public async Task ShuttingDown_Write_TriedAtTheNextAddress()
    {
        // Refused before any handler runs: nothing was applied.
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.Unavailable, "Server is shutting down")));
        _replicas.Answer(B, Active);
        var client = Client(A, B);

        await client.RemoveLeaseAsync("w", "/a").DefaultTimeout();

        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
    }

    [Fact]
    public async Task OtherStatus_NeverRetried()
    {
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.NotFound, "no lease")));
        var client = Client(A, B);

        await FluentActions.Awaiting(() => client.RenewLeaseAsync("w")).Should().ThrowAsync<LeaseNotFoundException>();
        _replicas.Calls.Should().ContainSingle();
    }

    [Fact]
    public async Task NoReplicaActive_AttemptsBounded_TheLastRefusalSurfaces()
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Standby());
        _replicas.Answer(B, _ => ScriptedReplicas.Standby());
        _replicas.Answer(C, _ => ScriptedReplicas.Refused());
        var client = Client(new FailoverPolicy(5, TimeSpan.Zero, TimeSpan.Zero), A, B, C);

        (await FluentActions.Awaiting(() => client.RenewLeaseAsync("w")).Should().ThrowAsync<LeaseUnavailableException>())
            .Which.Status.Detail.Should().Be("not the active replica");
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(C), new Uri(A), new Uri(B));
    }

    [Fact]
    public async Task StandbysNamingEachOther_AttemptsBounded()
    {
        _replicas.Answer(A, _ => ScriptedReplicas.Standby(leader: B));
        _replicas.Answer(B, _ => ScriptedReplicas.Standby(leader: A));
        var client = Client(new FailoverPolicy(4, TimeSpan.Zero, TimeSpan.Zero), A, B);

        await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/a")).Should().ThrowAsync<LeaseUnavailableException>();
        _replicas.Calls.Should().HaveCount(4);
    }

    [Fact]
    public async Task EveryAddressFailedInARound_TheNextRoundWaitsTheBackoff()
    {
        var time = new FakeTimeProvider();
        _replicas.Answer(A, _ => ScriptedReplicas.Standby());
        _replicas.Answer(B, _ => ScriptedReplicas.Standby());
        var client = Client(new FailoverPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), time, A, B);

        var armed = time.WaitForTimerArmedAsync();
        var call = client.RenewLeaseAsync("w");
        await armed.DefaultTimeout();

        _replicas.Calls.Should().HaveCount(2, "the first round tries each address at once");
        call.IsCompleted.Should().BeFalse();
        _replicas.Answer(A, Active);
        time.Advance(TimeSpan.FromSeconds(1));
        await call.DefaultTimeout();
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(A));
    }

    [Fact]
    public async Task CancelledDuringTheBackoff_Cancelled()
    {
        var time = new FakeTimeProvider();
        _replicas.Answer(A, _ => ScriptedReplicas.Standby());
        _replicas.Answer(B, _ => ScriptedReplicas.Standby());
        var client = Client(new FailoverPolicy(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), time, A, B);
        using var cts = new CancellationTokenSource();

        var armed = time.WaitForTimerArmedAsync();
        var call = client.RenewLeaseAsync("w", cts.Token);
        await armed.DefaultTimeout();
        await cts.CancelAsync();

        (await FluentActions.Awaiting(() => call).Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
    }

    [Fact]
    public async Task ReplicaNotAnswering_ReadOrRenewal_NextReplicaTriedAfterTheAttemptTimeout_AndKept()
    {
        var time = new FakeTimeProvider();
        var never = new TaskCompletionSource<object>();
        _replicas.Answer(A, _ => never.Task); // Accepts the call, never answers (paused, frozen).
        _replicas.Answer(B, Active);
        var client = Client(new FailoverPolicy(6, TimeSpan.Zero, TimeSpan.Zero, AttemptTimeout: TimeSpan.FromSeconds(1)), time, A, B);

        var call = client.RenewLeaseAsync("w");
        time.Advance(TimeSpan.FromMilliseconds(999));
        call.IsCompleted.Should().BeFalse("the first attempt has its full second");
        time.Advance(TimeSpan.FromMilliseconds(1));

        (await call.DefaultTimeout()).LeasesRenewed.Should().Be(1);
        (await client.GetLeaseAsync("/a").DefaultTimeout()).Holder.Should().Be("w", "later calls go straight to the replica that answered");
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(B));
    }

    [Fact]
    public async Task SlowActive_SecondAttemptThereHasTheCallsTime_AndAnswers()
    {
        var time = new FakeTimeProvider();
        var first = new TaskCompletionSource<object>();
        var second = new TaskCompletionSource<object>();
        var attemptsAtA = 0;
        _replicas.Answer(A, _ => ++attemptsAtA == 1 ? first.Task : second.Task);
        _replicas.Answer(B, _ => ScriptedReplicas.Standby(leader: A));
        var client = Client(new FailoverPolicy(6, TimeSpan.Zero, TimeSpan.Zero, AttemptTimeout: TimeSpan.FromSeconds(1)), time, A, B);

        var call = client.ListLeasesAsync();
        time.Advance(TimeSpan.FromSeconds(1)); // A's first attempt gives up; B points back at A.
        await WaitForCallsAsync(3);
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(A));
        time.Advance(TimeSpan.FromMinutes(1));
        call.IsCompleted.Should().BeFalse("a second attempt at the same replica is not cut short");
        second.SetResult(new ListLeasesResponse());

        await call.DefaultTimeout();
        _invoker!.Active.Should().Be(new Uri(A));
    }

    [Fact]
    public async Task ReplicaNotAnswering_ChangeNotCutShort_ButOnceItsDeadlinePasses_LaterCallsStartAtTheNext()
    {
        var time = new FakeTimeProvider();
        var deadline = new TaskCompletionSource<object>();
        _replicas.Answer(A, _ => deadline.Task);
        _replicas.Answer(B, Active);
        var client = Client(new FailoverPolicy(6, TimeSpan.Zero, TimeSpan.Zero, AttemptTimeout: TimeSpan.FromSeconds(1)), time, A, B);

        var call = client.AddLeaseAsync("w", "/a");
        time.Advance(TimeSpan.FromMinutes(1));
        call.IsCompleted.Should().BeFalse("a change may have been applied: it is never retried elsewhere on a timeout of ours");
        deadline.SetResult(new RpcException(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"))); // The call's own deadline.

        (await FluentActions.Awaiting(() => call).Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        _invoker!.Active.Should().Be(new Uri(B), "a replica that did not answer in the call's whole time is not where the next call starts");
        (await client.AddLeaseAsync("w", "/a").DefaultTimeout()).Holder.Should().Be("w");
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B));
    }

    [Fact]
    public async Task CallCancelledByItsCaller_AtAHealthyActive_LaterCallsStillStartThere()
    {
        var slow = new TaskCompletionSource<object>();
        _replicas.Answer(A, method => method == AddLease ? Active(method) : slow.Task);
        _replicas.Answer(B, _ => ScriptedReplicas.Standby(leader: A));
        var client = Client(A, B);
        (await client.AddLeaseAsync("w", "/a").DefaultTimeout()).Holder.Should().Be("w");
        using var cts = new CancellationTokenSource();

        var read = client.GetLeaseAsync("/a", cts.Token);
        await cts.CancelAsync(); // The application gave up, for its own reasons.
        await FluentActions.Awaiting(() => read).Should().ThrowAsync<LeaseServiceException>();

        _invoker!.Active.Should().Be(new Uri(A), "a cancellation says nothing about the replica");
        (await client.AddLeaseAsync("w", "/a").DefaultTimeout()).Holder.Should().Be("w");
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(A), new Uri(A));
    }

    [Fact]
    public async Task OneAttemptOnly_ASlowActiveIsNotCutShort()
    {
        var time = new FakeTimeProvider();
        var slow = new TaskCompletionSource<object>();
        _replicas.Answer(A, _ => slow.Task);
        _replicas.Answer(B, Active);
        var client = Client(new FailoverPolicy(1, TimeSpan.Zero, TimeSpan.Zero, AttemptTimeout: TimeSpan.FromSeconds(1)), time, A, B);

        var read = client.GetLeaseAsync("/a");
        time.Advance(TimeSpan.FromMinutes(1));
        read.IsCompleted.Should().BeFalse("the last attempt has the call's whole time");
        slow.SetResult(new GetLeaseResponse { Lease = new LeaseInfo { Holder = "w", Path = "/a" } });

        (await read.DefaultTimeout()).Holder.Should().Be("w");
    }

    [Fact]
    public async Task ActiveAnswersUnavailableForItself_StandbyPointsBack_RetriedThere_AndItsAnswerIsTheCallsWhenAttemptsEnd()
    {
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.Unavailable, "storage unavailable: disk full")));
        _replicas.Answer(B, _ => ScriptedReplicas.Standby(leader: A));
        var client = Client(A, B);

        (await FluentActions.Awaiting(() => client.RenewLeaseAsync("w")).Should().ThrowAsync<LeaseUnavailableException>())
            .Which.Status.Detail.Should().Be("storage unavailable: disk full", "the standby's refusal that ended the attempts says less");
        _replicas.Calls.Select(c => c.Address).Should().Equal([new Uri(A), new Uri(B), new Uri(A), new Uri(B), new Uri(A), new Uri(B)]);
    }

    [Fact]
    public async Task ActiveLoadingAfterAFailover_StandbyPointsBack_RetriedThere_Answers()
    {
        var loading = true;
        _replicas.Answer(A, method => loading ? new RpcException(new Status(StatusCode.Unavailable, "storage unavailable: the service is loading its state; retry")) : Active(method));
        _replicas.Answer(B, _ =>
        {
            loading = false; // It finished loading meanwhile.
            return ScriptedReplicas.Standby(leader: A);
        });
        var client = Client(A, B);

        (await client.RenewLeaseAsync("w").DefaultTimeout()).LeasesRenewed.Should().Be(1);
        _replicas.Calls.Select(c => c.Address).Should().Equal(new Uri(A), new Uri(B), new Uri(A));
    }

    [Fact]
    public async Task ActiveAnswersUnavailableForItself_AttemptsEndOnARefusal_TheActivesAnswerIsTheCalls()
    {
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.Unavailable, "storage unavailable: disk full")));
        _replicas.Answer(B, _ => ScriptedReplicas.Standby());
        _replicas.Answer(C, _ => ScriptedReplicas.Standby());
        var client = Client(new FailoverPolicy(3, TimeSpan.Zero, TimeSpan.Zero), A, B, C);

        (await FluentActions.Awaiting(() => client.GetLeaseAsync("/a")).Should().ThrowAsync<LeaseUnavailableException>())
            .Which.Status.Detail.Should().Be("storage unavailable: disk full");
        _replicas.Calls.Should().HaveCount(3);
    }

    /// <summary>Until <paramref name="count"/> calls were made (an attempt cut short continues on the thread pool).</summary>
    private async Task WaitForCallsAsync(int count)
    {
        for (var i = 0; i < 500 && _replicas.Calls.Count < count; i++)
        {
            await Task.Delay(10);
        }
    }

    private static object Active(string method) => method switch
    {
        AddLease => new AddLeaseResponse { Lease = new LeaseInfo { Holder = "w", Path = "/a", Epoch = 1 } },
        RenewLease => new RenewLeaseResponse { LeasesRenewed = 1 },
        "/leases.v1.LeaseService/RemoveLease" => new RemoveLeaseResponse { Closed = true },
        "/leases.v1.LeaseService/RecoverLease" => new RecoverLeaseResponse { Closed = true },
        "/leases.v1.LeaseService/GetLease" => new GetLeaseResponse { Lease = new LeaseInfo { Holder = "w", Path = "/a" } },
        "/leases.v1.LeaseService/ListLeases" => new ListLeasesResponse(),
        "/leases.v1.LeaseService/AddBlock" => new AddBlockResponse(),
        "/leases.v1.LeaseService/GetFile" => new Contracts.V1.FileInfo(),
        _ => throw new InvalidOperationException(method),
    };

    private static Task Invoke(LeaseClient client, string method) => method switch
    {
        "AddLease" => client.AddLeaseAsync("w", "/a"),
        "RemoveLease" => client.RemoveLeaseAsync("w", "/a"),
        "AddBlock" => client.AddBlockAsync("w", "/a"),
        "RecoverLease" => client.RecoverLeaseAsync("/a"),
        "RenewLease" => client.RenewLeaseAsync("w"),
        "GetLease" => client.GetLeaseAsync("/a"),
        "ListLeases" => client.ListLeasesAsync(),
        "GetFile" => client.GetFileAsync("/a"),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    private LeaseClient Client(params string[] addresses) => Client(new FailoverPolicy(6, TimeSpan.Zero, TimeSpan.Zero), addresses);

    private LeaseClient Client(FailoverPolicy policy, params string[] addresses) => Client(policy, TimeProvider.System, addresses);

    private LeaseClient Client(FailoverPolicy policy, TimeProvider time, params string[] addresses)
    {
        var replicas = ReplicaAddresses.Parse(addresses);
        _invoker = new FailoverCallInvoker(replicas, _replicas.Connect, policy, time);
        return new LeaseClient(_invoker, replicas[0], new LeaseClientOptions { CallTimeout = Timeout.InfiniteTimeSpan });
    }
}
