using Grpc.Core;
using Grpc.Net.Client;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Server.Rpc;
using LeaseService.Testing;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Tests;

/// <summary>
/// A server loading its state, over real HTTP/2: the refusal on the wire (UNAVAILABLE, the message
/// and the <c>lease-not-applied: loading</c> trailer, docs/SEMANTICS.md "Loading").
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
}
