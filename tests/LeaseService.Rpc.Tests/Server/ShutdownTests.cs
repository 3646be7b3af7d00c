using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>
/// ApplicationStopping fires before Kestrel stops; the host here is started (not run), so
/// StopApplication only raises the event and the server keeps listening while the tests look.
/// </summary>
public sealed class ShutdownTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Stopping_WatchGetsNotServingThenUnavailable()
    {
        _server.Health.SetStatus("leases.v1.LeaseService", ServingStatus.Serving);
        using var call = await _server.Client.StartStreamingAsync("/grpc.health.v1.Health/Watch", new HealthCheckRequest { Service = "leases.v1.LeaseService" }).DefaultTimeout();
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);

        _server.Lifetime.StopApplication();

        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.NotServing);
        var end = await call.ReadToEndAsync();
        end.Messages.Should().BeEmpty();
        end.Trailers.GetValues("grpc-status").Should().Equal("14");
        _server.Health.GetStatus("").Should().Be(ServingStatus.NotServing);
        _server.Health.GetStatus("leases.v1.LeaseService").Should().Be(ServingStatus.NotServing);
    }

    [Fact]
    public async Task Stopping_NewCallGetsUnavailable()
    {
        _server.Lifetime.StopApplication();

        var result = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "x" }).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Unavailable);
        result.Message.Should().Be("Server is shutting down");
        result.TrailersOnly.Should().BeTrue();
    }

    [Fact]
    public async Task Stopping_InFlightCallFinishes()
    {
        var call = _server.Client.UnaryAsync("/test.v1.Test/Gate", new StringValue { Value = "in flight" });
        await _server.Service.GateEntered.Task.DefaultTimeout();

        _server.Lifetime.StopApplication();
        _server.Service.GateRelease.SetResult();

        var result = await call.DefaultTimeout();
        result.Status.Should().Be(StatusCode.OK);
        result.OnlyMessage(StringValue.Parser).Value.Should().Be("in flight");
    }

    [Fact]
    public void Stopping_StatusChangesAfterwardsAreIgnored()
    {
        _server.Lifetime.StopApplication();

        _server.Health.SetStatus("", ServingStatus.Serving);

        _server.Health.GetStatus("").Should().Be(ServingStatus.NotServing);
    }
}
