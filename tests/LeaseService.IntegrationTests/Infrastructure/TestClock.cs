using Google.Protobuf.WellKnownTypes;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Rpc;
using LeaseService.Testing;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// The client of <c>leases.v1.TestClock</c> (protos/leases/v1/test_clock.proto), served by a server
/// started with <c>Testing__ManualClock=true</c>: lease time moves only when a test moves it.
/// </summary>
public sealed class TestClock(LeaseClient client)
{
    private const string Service = "leases.v1.TestClock";

    private static readonly Method<AdvanceRequest, ClockTime> AdvanceMethod = new(MethodType.Unary, Service, "Advance", AdvanceRequest.Parser, ClockTime.Parser);
    private static readonly Method<NowRequest, ClockTime> NowMethod = new(MethodType.Unary, Service, "Now", NowRequest.Parser, ClockTime.Parser);
    private static readonly Method<WaitForRecoveriesRequest, WaitForRecoveriesResponse> WaitForRecoveriesMethod =
        new(MethodType.Unary, Service, "WaitForRecoveries", WaitForRecoveriesRequest.Parser, WaitForRecoveriesResponse.Parser);

    /// <summary>Moves lease time forward; returns after every monitor pass the move caused.</summary>
    public Task<ClockTime> AdvanceAsync(TimeSpan by)
        => client.CallAsync(AdvanceMethod, new AdvanceRequest { By = Duration.FromTimeSpan(by) }).DefaultTimeout();

    public Task<ClockTime> NowAsync() => client.CallAsync(NowMethod, new NowRequest()).DefaultTimeout();

    /// <summary>Returns once no block recovery started so far is still running on the server.</summary>
    public Task WaitForRecoveriesAsync() => client.CallAsync(WaitForRecoveriesMethod, new WaitForRecoveriesRequest()).DefaultTimeout();
}
