using Grpc.Core;
using LeaseService.Client.Internal.Failover;
using LeaseService.Client.Tests.Failover;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests.Retry;

/// <summary>
/// A server loading its state refuses every call with UNAVAILABLE "loading its state; retry"
/// (trailer <c>lease-not-applied: loading</c>) before deciding anything: every client, of one
/// address or of several replicas, repeats the call with backoff within its deadline. Scripted
/// in-process servers (<see cref="ScriptedReplicas"/>), time on a fake clock.
/// </summary>
public sealed class LoadingRetryTests : IDisposable
{
    private const string A = "http://a:5050/";
    private const string B = "http://b:5050/";
    private const string LoadingMessage = "storage unavailable: the service is loading its state; retry";

    private readonly ScriptedReplicas _replicas = new();
    private readonly FakeTimeProvider _time = new();
    private FailoverCallInvoker? _failover;

    public enum Addresses
    {
        One,
        Several,
    }

    public void Dispose() => _failover?.Dispose();

    [Theory]
    [InlineData(Addresses.One)]
    [InlineData(Addresses.Several)]
    public async Task AddLease_RefusedWhileLoading_RepeatedWithBackoff_AppliedOnce(Addresses addresses)
    {
        var refusals = 3;
        var applied = 0;
        _replicas.Answer(A, method =>
        {
            if (refusals-- > 0)
            {
                return Loading();
            }

            applied++;
            return Answer(method);
        });
        var client = Client(addresses, TimeSpan.FromSeconds(30));
        var start = _time.GetUtcNow();

        var lease = await DriveAsync(() => client.AddLeaseAsync("w", "/a"));

        lease.Epoch.Should().Be(7);
        applied.Should().Be(1);
        _replicas.Calls.Should().HaveCount(4).And.OnlyContain(c => c.Address == new Uri(A) && c.Method == "/leases.v1.LeaseService/AddLease");
        (_time.GetUtcNow() - start).Should().BeGreaterThan(TimeSpan.Zero, "each repeat waits a backoff").And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(3));
    }

    [Theory]
    [InlineData("AddLease")]
    [InlineData("RenewLease")]
    [InlineData("RemoveLease")]
    [InlineData("RecoverLease")]
    [InlineData("AddBlock")]
    [InlineData("DeleteFile")]
    [InlineData("GetLease")]
    [InlineData("ListLeases")]
    [InlineData("GetFile")]
    public async Task EveryMethod_OneAddress_RefusedWhileLoading_Repeated(string method)
    {
        var loading = true;
        _replicas.Answer(A, m =>
        {
            var answer = loading ? (object)Loading() : Answer(m);
            loading = false;
            return answer;
        });
        var client = Client(Addresses.One, TimeSpan.FromSeconds(30));

        await DriveAsync(async () =>
        {
            await Invoke(client, method);
            return 0;
        });

        _replicas.Calls.Should().HaveCount(2);
    }

    [Theory]
    [InlineData(Addresses.One)]
    [InlineData(Addresses.Several)]
    public async Task StillLoadingAtTheDeadline_TheLoadingRefusalIsTheCallsFailure(Addresses addresses)
    {
        _replicas.Answer(A, _ => Loading());
        var client = Client(addresses, TimeSpan.FromSeconds(3));
        var start = _time.GetUtcNow();

        var failure = (await FluentActions.Awaiting(() => DriveAsync(() => client.AddLeaseAsync("w", "/a"))).Should().ThrowAsync<LeaseUnavailableException>()).Which;

        failure.Status.Detail.Should().Be(LoadingMessage, "not DEADLINE_EXCEEDED, and not a standby's refusal");
        failure.Trailers.GetValue(LeaseClient.NotAppliedTrailer).Should().Be(LeaseClient.LoadingReason);
        _replicas.Calls.Where(c => c.Address == new Uri(A)).Should().HaveCountGreaterThan(2);
        (_time.GetUtcNow() - start).Should().BeLessThanOrEqualTo(TimeSpan.FromSeconds(3), "no wait goes past the deadline");
    }

    [Fact]
    public async Task StillLoading_CallWithoutDeadline_RefusalIsItsFailureAfter30Seconds()
    {
        _replicas.Answer(A, _ => Loading());
        var client = Client(Addresses.One, Timeout.InfiniteTimeSpan);
        var start = _time.GetUtcNow();

        (await FluentActions.Awaiting(() => DriveAsync(() => client.AddLeaseAsync("w", "/a"))).Should().ThrowAsync<LeaseUnavailableException>())
            .Which.Status.Detail.Should().Be(LoadingMessage);
        (_time.GetUtcNow() - start).Should().BeGreaterThan(TimeSpan.FromSeconds(20)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData(Addresses.One, "lost")]
    [InlineData(Addresses.One, "own")]
    [InlineData(Addresses.Several, "lost")]
    [InlineData(Addresses.Several, "own")]
    public async Task OtherUnavailable_AddLease_NotRepeated(Addresses addresses, string kind)
    {
        // A connection lost after the request was sent, or the server's own "storage unavailable":
        // the change may have been applied.
        _replicas.Answer(A, _ => kind == "lost" ? ScriptedReplicas.LostMidCall() : new RpcException(new Status(StatusCode.Unavailable, "storage unavailable: disk full")));
        var client = Client(addresses, TimeSpan.FromSeconds(30));

        await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/a")).Should().ThrowAsync<LeaseUnavailableException>();

        _replicas.Calls.Should().ContainSingle();
        _time.ArmedTimerCount.Should().Be(0, "no backoff was started");
    }

    [Theory]
    [InlineData("trailer and message")]
    [InlineData("message alone")] // A server from before the trailer.
    [InlineData("trailer alone")] // A server (or proxy) that words the refusal otherwise.
    public async Task LoadingRefusal_RecognisedByTrailerOrMessage(string shape)
    {
        var loading = true;
        _replicas.Answer(A, m =>
        {
            var answer = loading ? (object)Loading(withTrailer: shape != "message alone", message: shape == "trailer alone" ? "warming up" : LoadingMessage) : Answer(m);
            loading = false;
            return answer;
        });
        var client = Client(Addresses.One, TimeSpan.FromSeconds(30));

        await DriveAsync(() => client.AddLeaseAsync("w", "/a"));

        _replicas.Calls.Should().HaveCount(2);
    }

    [Fact]
    public async Task LoadingMessage_NotUnavailable_NotRepeated()
    {
        _replicas.Answer(A, _ => new RpcException(new Status(StatusCode.FailedPrecondition, LoadingMessage)));
        var client = Client(Addresses.One, TimeSpan.FromSeconds(30));

        await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/a")).Should().ThrowAsync<LeaseConflictException>();

        _replicas.Calls.Should().ContainSingle();
    }

    [Fact]
    public async Task CancelledDuringTheBackoff_Cancelled_NoFurtherAttempt()
    {
        _replicas.Answer(A, _ => Loading());
        var client = Client(Addresses.One, TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource();

        var armed = _time.WaitForTimerArmedAsync();
        var call = client.AddLeaseAsync("w", "/a", cancellationToken: cts.Token);
        await armed.DefaultTimeout();
        await cts.CancelAsync();

        (await FluentActions.Awaiting(() => call).Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        _replicas.Calls.Should().ContainSingle();
    }

    private static RpcException Loading(bool withTrailer = true, string message = LoadingMessage)
        => new(new Status(StatusCode.Unavailable, message), withTrailer ? new Metadata { { "lease-not-applied", "loading" } } : []);

    private static object Answer(string method) => method switch
    {
        "/leases.v1.LeaseService/AddLease" => new AddLeaseResponse { Lease = new LeaseInfo { Holder = "w", Path = "/a", Epoch = 7 } },
        "/leases.v1.LeaseService/RenewLease" => new RenewLeaseResponse { LeasesRenewed = 1 },
        "/leases.v1.LeaseService/RemoveLease" => new RemoveLeaseResponse { Closed = true },
        "/leases.v1.LeaseService/RecoverLease" => new RecoverLeaseResponse { Closed = true },
        "/leases.v1.LeaseService/AddBlock" => new AddBlockResponse(),
        "/leases.v1.LeaseService/DeleteFile" => new DeleteFileResponse(),
        "/leases.v1.LeaseService/GetLease" => new GetLeaseResponse { Lease = new LeaseInfo { Holder = "w", Path = "/a" } },
        "/leases.v1.LeaseService/ListLeases" => new ListLeasesResponse(),
        "/leases.v1.LeaseService/GetFile" => new Contracts.V1.FileInfo(),
        _ => throw new InvalidOperationException(method),
    };

    private static Task Invoke(LeaseClient client, string method) => method switch
    {
        "AddLease" => client.AddLeaseAsync("w", "/a"),
        "RenewLease" => client.RenewLeaseAsync("w"),
        "RemoveLease" => client.RemoveLeaseAsync("w", "/a"),
        "RecoverLease" => client.RecoverLeaseAsync("/a"),
        "AddBlock" => client.AddBlockAsync("w", "/a"),
        "DeleteFile" => client.DeleteFileAsync("/a"),
        "GetLease" => client.GetLeaseAsync("/a"),
        "ListLeases" => client.ListLeasesAsync(),
        "GetFile" => client.GetFileAsync("/a"),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>
    /// Runs the call, advancing the clock a second whenever it waits (every backoff is at most
    /// 1 s), until it ends.
    /// </summary>
    private async Task<T> DriveAsync<T>(Func<Task<T>> start)
    {
        var armed = _time.WaitForTimerArmedAsync();
        var call = start();
        while (await Task.WhenAny(call, armed).DefaultTimeout() != call)
        {
            armed = _time.WaitForTimerArmedAsync();
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        return await call;
    }

    /// <summary>
    /// A client of A alone (as <see cref="LeaseClient.Create(string, LeaseClientOptions?)"/> builds
    /// it, over a scripted channel), or of A and a standby B that names A.
    /// </summary>
    private LeaseClient Client(Addresses addresses, TimeSpan callTimeout)
    {
        var options = new LeaseClientOptions { CallTimeout = callTimeout, TimeProvider = _time };
        if (addresses == Addresses.One)
        {
            return new LeaseClient(_replicas.Connect(new Uri(A)).Invoker, new Uri(A), options);
        }

        _replicas.Answer(B, _ => ScriptedReplicas.Standby(leader: A));
        var replicas = ReplicaAddresses.Parse([A, B]);
        _failover = new FailoverCallInvoker(replicas, _replicas.Connect, new FailoverPolicy(6, TimeSpan.Zero, TimeSpan.Zero), _time);
        return new LeaseClient(_failover, replicas[0], options);
    }
}
