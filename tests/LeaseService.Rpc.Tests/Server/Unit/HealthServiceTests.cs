using LeaseService.Rpc.AspNetCore;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.Tests.Server.Unit;

public sealed class HealthServiceTests
{
    [Fact]
    public void NewService_WholeServerServingAndOthersUnknown()
    {
        var health = new HealthService();

        health.GetStatus("").Should().Be(ServingStatus.Serving);
        health.GetStatus("x").Should().BeNull();
    }

    [Fact]
    public void SetStatus_ThenGetStatus_ReturnsIt()
    {
        var health = new HealthService();

        health.SetStatus("x", ServingStatus.NotServing);

        health.GetStatus("x").Should().Be(ServingStatus.NotServing);
    }

    [Fact]
    public void EnterShutdown_EverythingNotServingAndLaterChangesIgnored()
    {
        var health = new HealthService();
        health.SetStatus("x", ServingStatus.Serving);

        health.EnterShutdown();
        health.SetStatus("x", ServingStatus.Serving);
        health.SetStatus("y", ServingStatus.Serving);

        health.GetStatus("").Should().Be(ServingStatus.NotServing);
        health.GetStatus("x").Should().Be(ServingStatus.NotServing);
        health.GetStatus("y").Should().BeNull();
    }
}
