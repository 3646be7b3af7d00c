using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.Tests.Server;

public sealed class HealthCheckTests : IAsyncLifetime
{
    private const string Check = "/grpc.health.v1.Health/Check";
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Check_WholeServer_IsServingFromTheStart()
    {
        var result = await _server.Client.UnaryAsync(Check, new HealthCheckRequest { Service = "" }).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
        result.OnlyMessage(HealthCheckResponse.Parser).Status.Should().Be(ServingStatus.Serving);
    }

    [Theory]
    [InlineData(ServingStatus.Serving)]
    [InlineData(ServingStatus.NotServing)]
    public async Task Check_KnownService_ReturnsItsStatus(ServingStatus status)
    {
        _server.Health.SetStatus("leases.v1.LeaseService", status);

        var result = await _server.Client.UnaryAsync(Check, new HealthCheckRequest { Service = "leases.v1.LeaseService" }).DefaultTimeout();

        result.OnlyMessage(HealthCheckResponse.Parser).Status.Should().Be(status);
    }

    [Fact]
    public async Task Check_UnknownService_IsNotFound()
    {
        var result = await _server.Client.UnaryAsync(Check, new HealthCheckRequest { Service = "nope" }).DefaultTimeout();

        result.Status.Should().Be(StatusCode.NotFound);
        result.TrailersOnly.Should().BeTrue();
    }

    [Fact]
    public async Task Check_NameMatchesExactly()
    {
        _server.Health.SetStatus("leases.v1.LeaseService", ServingStatus.Serving);

        var result = await _server.Client.UnaryAsync(Check, new HealthCheckRequest { Service = "leases.v1.leaseservice" }).DefaultTimeout();

        result.Status.Should().Be(StatusCode.NotFound);
    }
}
