using LeaseService.Client;
using Grpc.Core;
using Grpc.Net.Client;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// The server most scenarios share: a local process of the published server on the manual clock
/// with short limits, a container of LEASE_SERVICE_IMAGE configured the same way, or the server at
/// LEASE_SERVICE_URL (which must run with the same switch, as the compose test profile's does). Tests using it run one at a time (one collection) because
/// moving lease time moves it for everyone; each uses its own paths and holders.
/// </summary>
public sealed class SharedServer : IAsyncLifetime
{
    /// <summary>How the local process is configured: environment variables only, as a container is.</summary>
    public static readonly IReadOnlyDictionary<string, string> Environment = new Dictionary<string, string>
    {
        ["Testing__ManualClock"] = "true",
        ["Leases__SoftLimit"] = "00:00:10",
        ["Leases__HardLimit"] = "00:00:30",
        ["Leases__MonitorInterval"] = "00:00:02",
        ["Leases__RecoveryTimeout"] = "00:00:20",
        ["DataNodes__CallTimeout"] = "00:00:02",
        ["DataNodes__RecoveryTimeout"] = "00:00:10",
    };

    /// <summary>The server the suite started (process or container); null for LEASE_SERVICE_URL.</summary>
    public IServerHost? Host { get; private set; }

    public string Address { get; private set; } = string.Empty;

    public LeaseClient Client { get; private set; } = null!;

    public CallInvoker Channel => Client.CallInvoker;

    public TestClock Clock { get; private set; } = null!;

    /// <summary>The server's limits, as RenewLease reports them (so a remote server's own settings are used).</summary>
    public TimeSpan SoftLimit { get; private set; }

    public TimeSpan HardLimit { get; private set; }

    /// <summary>The monitor's period, as TestClock reports it.</summary>
    public TimeSpan MonitorInterval { get; private set; }

    /// <summary>What the server printed, for failure messages (a remote server's output is in its container log).</summary>
    public string Output => Host?.Output ?? $"(the server at {Address} runs elsewhere: see its own log, e.g. docker compose logs)";

    public async Task InitializeAsync()
    {
        if (ServerTarget.RemoteUrl is { } url)
        {
            if (ServerTarget.Image is { } image)
            {
                throw new InvalidOperationException($"Both LEASE_SERVICE_URL={url} and LEASE_SERVICE_IMAGE={image} are set: the suite either targets a server or starts its own, not both.");
            }

            Address = url;
        }
        else
        {
            Host = await ServerHost.StartAsync(Environment);
            Address = Host.Address;
        }

        Client = LeaseClient.Create(Address);
        await Health.WaitForServingAsync(Channel, retryWhileUnreachable: Host is null);
        Clock = new TestClock(Client);
        try
        {
            MonitorInterval = (await Clock.NowAsync()).MonitorInterval.ToTimeSpan();
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            throw new InvalidOperationException(
                $"The server at {Address} does not serve leases.v1.TestClock: start it with Testing__ManualClock=true (the compose test profile does).", ex);
        }

        var holder = ServerTarget.Unique("limits");
        var path = "/it/" + holder;
        await Client.AddLeaseAsync(holder, path);
        var renewed = await Client.RenewLeaseAsync(holder);
        (SoftLimit, HardLimit) = (renewed.SoftLimit.ToTimeSpan(), renewed.HardLimit.ToTimeSpan());
        await Client.RemoveLeaseAsync(holder, path);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedServerCollection : ICollectionFixture<SharedServer>
{
    public const string Name = "Shared server on the manual clock";
}
