using Grpc.Core;
using LeaseService.Client;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// Security through the published server in its own process (or a container): the owner of a
/// holder survives a crash and restart on the same data directory, and the server refuses to
/// serve anonymously beyond loopback.
/// </summary>
public sealed class SecurityTests(ITestOutputHelper output)
{
    [OwnProcessFact]
    public async Task HolderOwner_SurvivesAKillAndRestart()
    {
        await using var server = await ServerHost.StartAsync(HandMadeJwt.Environment("ops"));
        try
        {
            using var alice = LeaseClient.Create(server.Address, new LeaseClientOptions { BearerToken = HandMadeJwt.Mint("alice") });
            using var bob = LeaseClient.Create(server.Address, new LeaseClientOptions { BearerToken = HandMadeJwt.Mint("bob") });
            using var anonymous = LeaseClient.Create(server.Address);
            await alice.AddLeaseAsync("etl", "/sec/owned").DefaultTimeout();
            var unauthenticated = () => anonymous.RenewLeaseAsync("etl");
            (await unauthenticated.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);

            await server.KillAsync();
            await server.StartAgainAsync();

            var stolen = () => bob.RenewLeaseAsync("etl");
            (await stolen.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied, "the owner was stored with the lease");
            (await bob.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
            (await alice.RenewLeaseAsync("etl").DefaultTimeout()).LeasesRenewed.Should().Be(1);
            (await alice.ListLeasesAsync().DefaultTimeout()).Leases.Should().ContainSingle(l => l.Path == "/sec/owned");
        }
        finally
        {
            output.WriteLine(server.Output);
        }
    }

    [OwnProcessFact]
    public async Task NonLoopbackWithoutAuthentication_ExitsWithCode2NamingAllowAnonymous()
    {
        var start = () => ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Provider"] = "InMemory" }, url: "http://0.0.0.0:0");

        var failure = (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message;

        failure.Should().Contain("exited with code 2").And.Contain("Security:AllowAnonymous");
        failure.Should().NotContain("   at ", "one line, no stack trace");
    }
}
