using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>The renewer renews through its LeaseClient, so it carries that client's bearer token (server with JWT authentication).</summary>
public sealed class AuthenticatedRenewalTests : IAsyncLifetime
{
    private ServerFixture _server = null!;
    private LeaseRenewerFactory _factory = null!;
    private RenewerTestClock _clock = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync(TestTokens.Settings);
        _clock = new RenewerTestClock(_server.Time);
        _factory = new LeaseRenewerFactory(new LeaseRenewerOptions { TimeProvider = _clock, RetryJitter = 0 });
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Renewer_WithATokenClient_KeepsTheLeasePastTheHardLimit()
    {
        using var client = LeaseClient.Create(_server.Address, new LeaseClientOptions { BearerToken = TestTokens.Mint("alice") });
        var renewer = _factory.GetRenewer(client, "alice");
        await using var writer = await LeaseWriter.OpenAsync(client, renewer, "alice-etl", "/auth/renewed").DefaultTimeout();

        for (var done = TimeSpan.Zero; done < ServerFixture.Hard + ServerFixture.Soft; done += TimeSpan.FromSeconds(1))
        {
            await _clock.WhenIdleAsync().DefaultTimeout();
            await _server.AdvanceWithMonitorAsync(TimeSpan.FromSeconds(1));
            await _clock.WhenIdleAsync().DefaultTimeout();
        }

        var lease = await client.GetLeaseAsync("/auth/renewed").DefaultTimeout();
        (lease.Holder, lease.State).Should().Be(("alice-etl", LeaseState.Active), "every renewal carried alice's token; an unauthenticated one would have let the hard limit pass");
        renewer.GetStatus("alice-etl")!.State.Should().Be(LeaseHolderState.Held);
        await writer.CloseAsync().DefaultTimeout();
    }
}
