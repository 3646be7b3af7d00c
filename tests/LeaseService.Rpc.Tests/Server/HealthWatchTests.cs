using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.Tests.Server;

public sealed class HealthWatchTests : IAsyncLifetime
{
    private const string Watch = "/grpc.health.v1.Health/Watch";
    private const string Service = "leases.v1.LeaseService";
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Watch_KnownService_SendsCurrentStatusAtOnce()
    {
        _server.Health.SetStatus(Service, ServingStatus.Serving);

        using var call = await _server.Client.StartStreamingAsync(Watch, new HealthCheckRequest { Service = Service }).DefaultTimeout();

        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);
    }

    [Fact]
    public async Task Watch_StatusChanges_SendsEachChangeAndDropsDuplicates()
    {
        _server.Health.SetStatus(Service, ServingStatus.Serving);
        using var call = await _server.Client.StartStreamingAsync(Watch, new HealthCheckRequest { Service = Service }).DefaultTimeout();
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);

        _server.Health.SetStatus(Service, ServingStatus.NotServing);
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.NotServing);

        _server.Health.SetStatus(Service, ServingStatus.NotServing); // duplicate: nothing sent
        _server.Health.SetStatus(Service, ServingStatus.Serving);
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving, "the duplicate NOT_SERVING was not sent");
    }

    [Fact]
    public async Task Watch_UnknownService_ServiceUnknownThenRealStatusWhenItAppears()
    {
        using var call = await _server.Client.StartStreamingAsync(Watch, new HealthCheckRequest { Service = "later" }).DefaultTimeout();
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.ServiceUnknown);

        _server.Health.SetStatus("later", ServingStatus.Serving);

        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);
    }

    [Fact]
    public async Task Watch_OtherServiceChanges_AreNotSent()
    {
        _server.Health.SetStatus(Service, ServingStatus.Serving);
        using var call = await _server.Client.StartStreamingAsync(Watch, new HealthCheckRequest { Service = Service }).DefaultTimeout();
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);

        _server.Health.SetStatus("other", ServingStatus.NotServing);
        _server.Health.SetStatus(Service, ServingStatus.NotServing);

        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.NotServing);
    }

    [Fact]
    public async Task Watch_ClientGoesAway_WatcherIsRemovedAndServerKeepsServing()
    {
        var call = await _server.Client.StartStreamingAsync(Watch, new HealthCheckRequest { Service = "" }).DefaultTimeout();
        (await call.ReadAsync(HealthCheckResponse.Parser))!.Status.Should().Be(ServingStatus.Serving);

        call.Dispose();
        _server.Health.SetStatus("", ServingStatus.NotServing);

        var check = await _server.Client.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest()).DefaultTimeout();
        check.OnlyMessage(HealthCheckResponse.Parser).Status.Should().Be(ServingStatus.NotServing);
    }
}
