using System.Net.NetworkInformation;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>What a <see cref="LeaseClient"/> accepts as settings, and what it leaves behind when disposed.</summary>
public sealed class ClientOptionsAndLifetimeTests
{
    [Theory]
    [InlineData(nameof(LeaseClientOptions.CallTimeout), 0)]
    [InlineData(nameof(LeaseClientOptions.CallTimeout), -5)]
    [InlineData(nameof(LeaseClientOptions.ConnectTimeout), 0)]
    [InlineData(nameof(LeaseClientOptions.ConnectTimeout), -1)]
    public void TimeoutNotAboveZero_RefusedWhenTheClientIsBuilt(string option, int seconds)
    {
        var value = TimeSpan.FromSeconds(seconds);
        var options = option == nameof(LeaseClientOptions.CallTimeout) ? new LeaseClientOptions { CallTimeout = value } : new LeaseClientOptions { ConnectTimeout = value };

        FluentActions.Invoking(() => LeaseClient.Create("http://127.0.0.1:5050", options))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(option);
        FluentActions.Invoking(() => LeaseClient.Create(["http://127.0.0.1:5050", "http://127.0.0.1:5051"], options))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(option);
    }

    [Fact]
    public void FailoverAttemptTimeoutNotAboveZero_RefusedForSeveralReplicas()
        => FluentActions.Invoking(() => LeaseClient.Create(["http://127.0.0.1:5050", "http://127.0.0.1:5051"], new LeaseClientOptions { FailoverAttemptTimeout = TimeSpan.Zero }))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(nameof(LeaseClientOptions.FailoverAttemptTimeout));

    [Fact]
    public async Task CallTimeoutBeyondTheCalendar_MeansNoDeadline()
    {
        await using var server = await ServerFixture.StartAsync();
        using var client = LeaseClient.Create(server.Address, new LeaseClientOptions { CallTimeout = TimeSpan.MaxValue });

        (await client.CheckHealthAsync().DefaultTimeout()).Should().Be(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
    }

    [Fact]
    public async Task DisposedClients_CloseTheirConnections()
    {
        await using var server = await ServerFixture.StartAsync();
        var port = new Uri(server.Address).Port;
        int Established() => IPGlobalProperties.GetIPGlobalProperties().GetActiveTcpConnections()
            .Count(c => c.RemoteEndPoint.Port == port && c.State == TcpState.Established);
        var before = Established();

        for (var i = 0; i < 5; i++)
        {
            using var client = LeaseClient.Create(server.Address);
            await client.CheckHealthAsync().DefaultTimeout();
            using var replicas = LeaseClient.Create([server.Address, LoopbackPorts.RefusedAddress()]);
            await replicas.CheckHealthAsync().DefaultTimeout();
        }

        await WaitUntilAsync(() => Established() <= before);
        Established().Should().Be(before, "every client was disposed, and with it the connections it opened");
    }

    /// <summary>Polls <paramref name="condition"/> (socket teardown is the kernel's, not on any clock of ours).</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(20);
        }
    }
}
