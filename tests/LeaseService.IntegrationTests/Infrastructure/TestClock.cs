using Google.Protobuf.WellKnownTypes;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// The client of <c>leases.v1.TestClock</c> (protos/leases/v1/test_clock.proto), served by a server
/// started with <c>Testing__ManualClock=true</c>: lease time moves only when a test moves it.
/// </summary>
public sealed class TestClock(LeaseClient client)
{
    private readonly Contracts.V1.TestClock.TestClockClient _clock = new(client.CallInvoker);

    /// <summary>Moves lease time forward; returns after every monitor pass the move caused.</summary>
    public Task<ClockTime> AdvanceAsync(TimeSpan by)
        => client.CallAsync(o => _clock.AdvanceAsync(new AdvanceRequest { By = Duration.FromTimeSpan(by) }, o)).DefaultTimeout();

    public Task<ClockTime> NowAsync() => client.CallAsync(o => _clock.NowAsync(new NowRequest(), o)).DefaultTimeout();

    /// <summary>Returns once no block recovery started so far is still running on the server.</summary>
    public Task WaitForRecoveriesAsync() => client.CallAsync(o => _clock.WaitForRecoveriesAsync(new WaitForRecoveriesRequest(), o)).DefaultTimeout();
}
