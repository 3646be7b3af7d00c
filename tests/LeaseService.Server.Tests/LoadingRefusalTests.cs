using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Server.Rpc;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Tests;

/// <summary>
/// A server loading its state, over real HTTP/2: the refusal on the wire (UNAVAILABLE, the message
/// and the <c>lease-not-applied: loading</c> trailer, docs/SEMANTICS.md "Loading"), and a
/// <see cref="LeaseClient"/> whose call made during loading is served, once, when loading ends.
/// The manager is held in loading as an etcd replica is between its election and the end of its
/// load (<c>Deactivate</c>, then <c>ActivateAsync</c>, which reads the store again); a single
/// server loads before it listens.
/// </summary>
public sealed class LoadingRefusalTests
{
    private const string LoadingMessage = "storage unavailable: the service is loading its state; retry";

    [Fact]
    public async Task WhileLoading_EveryCall_RefusedUnavailable_WithTheNotAppliedTrailer_AndNothingApplied()
    {
        await using var server = await ServerFixture.StartAsync();
        await server.Client.AddLeaseAsync("writer", "/loading/kept", "host").DefaultTimeout();
        server.Leases.Deactivate("test: the state is loaded again");

        // A plain generated client: no retry of any kind, so every refusal is seen as sent.
        using var channel = GrpcChannel.ForAddress(server.Address);
        var raw = new Contracts.V1.LeaseService.LeaseServiceClient(channel);
        var calls = new (string Method, Func<Task> Call)[]
        {
            ("AddLease", () => raw.AddLeaseAsync(new AddLeaseRequest { Holder = "other", Path = "/loading/new" }).ResponseAsync),
            ("RenewLease", () => raw.RenewLeaseAsync(new RenewLeaseRequest { Holder = "writer" }).ResponseAsync),
            ("RemoveLease", () => raw.RemoveLeaseAsync(new RemoveLeaseRequest { Holder = "writer", Path = "/loading/kept" }).ResponseAsync),
            ("RecoverLease", () => raw.RecoverLeaseAsync(new RecoverLeaseRequest { Path = "/loading/kept", Force = true }).ResponseAsync),
            ("AddBlock", () => raw.AddBlockAsync(new AddBlockRequest { Holder = "writer", Path = "/loading/kept" }).ResponseAsync),
            ("DeleteFile", () => raw.DeleteFileAsync(new DeleteFileRequest { Path = "/loading/kept" }).ResponseAsync),
            ("GetLease", () => raw.GetLeaseAsync(new GetLeaseRequest { Path = "/loading/kept" }).ResponseAsync),
            ("ListLeases", () => raw.ListLeasesAsync(new ListLeasesRequest()).ResponseAsync),
            ("GetFile", () => raw.GetFileAsync(new GetFileRequest { Path = "/loading/kept" }).ResponseAsync),
        };
        foreach (var (method, call) in calls)
        {
            var refused = (await FluentActions.Awaiting(call).Should().ThrowAsync<RpcException>()).Which;
            refused.StatusCode.Should().Be(StatusCode.Unavailable, method);
            refused.Status.Detail.Should().Be(LoadingMessage, method);
            refused.Trailers.GetValue("lease-not-applied").Should().Be("loading", method);
        }

        (await server.Client.CheckHealthAsync("leases.v1.LeaseService").DefaultTimeout()).Should().Be(ServingStatus.NotServing);

        (await server.Leases.ActivateAsync(TimeSpan.Zero).DefaultTimeout()).Should().BeTrue();
        var leases = await server.Client.ListLeasesAsync().DefaultTimeout();
        leases.Leases.Should().ContainSingle().Which.Should().Match<LeaseInfo>(l => l.Path == "/loading/kept" && l.Holder == "writer", "no refused change was applied");
    }

    [Theory]
    [InlineData(OutcomeKind.Unavailable, "lease recovery in progress for /a; try again later")]
    [InlineData(OutcomeKind.Unavailable, "storage unavailable: disk full")]
    [InlineData(OutcomeKind.FailedPrecondition, LoadingMessage)]
    public void OtherRefusals_CarryNoNotAppliedTrailer(OutcomeKind kind, string message)
    {
        var refused = FluentActions.Invoking(() => OutcomeStatus.Unwrap(Outcome<int>.Fail(kind, message))).Should().Throw<RpcException>().Which;

        refused.Status.Detail.Should().Be(message);
        refused.Trailers.GetValue("lease-not-applied").Should().BeNull("only a refusal given before anything was decided says so");
    }

    [Fact]
    public async Task AddLease_ThroughLeaseClient_WhileLoading_ServedOnceLoaded_AppliedOnce()
    {
        var counter = new AddLeaseCounter();
        await using var server = await ServerFixture.StartAsync(counter.AddTo);
        server.Leases.Deactivate("test: the state is loaded again");
        using var client = LeaseClient.Create(server.Address); // The address alone, as the CLI and applications build it.

        var add = client.AddLeaseAsync("writer", "/loading/a", "host");
        await counter.FirstRefusal.DefaultTimeout();
        add.IsCompleted.Should().BeFalse("the client waits out the load");
        (await server.Leases.ActivateAsync(TimeSpan.Zero).DefaultTimeout()).Should().BeTrue();

        var lease = await add.DefaultTimeout();
        lease.Holder.Should().Be("writer");
        counter.Applied.Should().Be(1, "the refused attempts changed nothing and the served one is the only grant");
        counter.Refused.Should().BeGreaterThanOrEqualTo(1);
        var held = await client.GetLeaseAsync("/loading/a").DefaultTimeout();
        held.Epoch.Should().Be(lease.Epoch);
        held.Holder.Should().Be("writer");
        (await client.ListLeasesAsync().DefaultTimeout()).Leases.Should().ContainSingle();
    }

    /// <summary>Counts AddLease calls the server refused while loading and those it served.</summary>
    private sealed class AddLeaseCounter : Interceptor
    {
        private readonly TaskCompletionSource _firstRefusal = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _refused;
        private int _applied;

        public Task FirstRefusal => _firstRefusal.Task;

        public int Refused => Volatile.Read(ref _refused);

        public int Applied => Volatile.Read(ref _applied);

        public void AddTo(WebApplicationBuilder builder)
        {
            builder.Services.AddSingleton(this);
            builder.Services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<AddLeaseCounter>());
        }

        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            if (context.Method != "/leases.v1.LeaseService/AddLease")
            {
                return await continuation(request, context);
            }

            try
            {
                var response = await continuation(request, context);
                Interlocked.Increment(ref _applied);
                return response;
            }
            catch (RpcException ex) when (ex.Status.Detail == LoadingMessage)
            {
                Interlocked.Increment(ref _refused);
                _firstRefusal.TrySetResult();
                throw;
            }
        }
    }
}
