using Grpc.Core;
using Grpc.Health.V1;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Server.Tests.Security;

/// <summary>JWT bearer tokens and client certificates over real TLS: who gets in, as whom.</summary>
public sealed class AuthenticationTests(SecureServer server) : IClassFixture<SecureServer>
{
    public static TheoryData<string, Func<string>> BadTokens => new()
    {
        { "expired", () => TestTokens.Mint("alice", expiresIn: TimeSpan.FromMinutes(-10)) },
        { "wrong signature", () => TestTokens.Mint("alice", key: new byte[32]) },
        { "wrong audience", () => TestTokens.Mint("alice", audience: "another-service") },
        { "wrong issuer", () => TestTokens.Mint("alice", issuer: "https://elsewhere.test") },
        { "alg none", () => TestTokens.Unsigned("alice") },
        { "not a token", () => "garbage" },
        { "no sub claim", () => TestTokens.Mint(subject: null) },
    };

    [Fact]
    public async Task Call_WithoutCredentials_IsUnauthenticated()
    {
        var call = () => server.Client(token: null).AddLeaseAsync("anon", "/auth/none");

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
        (await server.As(SecureServer.Admin).GetFileAsync("/auth/none").ContinueWith(t => t.Exception?.InnerException)).Should()
            .BeOfType<LeaseNotFoundException>("the refused call changed nothing");
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task Call_WithBadToken_IsUnauthenticated(string why, Func<string> token)
    {
        var call = () => server.Client(token()).AddLeaseAsync("w-" + why, "/auth/bad/" + why.Replace(' ', '-'));

        (await call.Should().ThrowAsync<RpcException>(why)).Which.StatusCode.Should().Be(StatusCode.Unauthenticated, why);
    }

    public static TheoryData<string, string?, string> RefusalReasons => new()
    {
        { "no token", null, "no credentials presented" },
        { "expired", TestTokens.Mint("alice", expiresIn: TimeSpan.FromMinutes(-10)), "The token is expired" },
        { "wrong audience", TestTokens.Mint("alice", audience: "another-service"), "Audience validation failed" },
        { "no sub claim", TestTokens.Mint(subject: null), "the token has no sub claim" },
    };

    [Theory]
    [MemberData(nameof(RefusalReasons))]
    public async Task Unauthenticated_LogsWhyTheCredentialsWereRefused_ButTellsTheCallerNothingMore(string why, string? token, string logged)
    {
        // An operator must be able to tell an expired token from an unreachable issuer from a
        // missing claim; the caller learns only that its credentials were refused.
        var before = server.DenialLog.Count;

        var call = () => server.Client(token).GetLeaseAsync("/auth/why");

        (await call.Should().ThrowAsync<RpcException>(why)).Which.Status.Detail.Should().Be("missing or invalid credentials", why);
        server.DenialLog.Skip(before).Should().ContainSingle(e => e.EventId == 6002, why)
            .Which.Message.Should().Contain("/leases.v1.LeaseService/GetLease").And.Contain(logged, why);
    }

    [Fact]
    public async Task Unauthenticated_CertificateWithoutCommonName_LogsWhy()
    {
        using var certificate = server.Pki.IssueClientWithSubject("L=ops");
        var before = server.DenialLog.Count;

        await Assert.ThrowsAnyAsync<RpcException>(() => server.WithCertificate(certificate).GetLeaseAsync("/auth/why"));

        server.DenialLog.Skip(before).Should().ContainSingle(e => e.EventId == 6002)
            .Which.Message.Should().Contain("exactly one CN");
    }

    [Fact]
    public async Task TokenWithoutSub_ActsOnNoOnesHolder_AndListsNothing()
    {
        // Signed, in date, right issuer and audience, but naming no principal: the core would take
        // its calls for calls without authentication, to which no ownership rule applies.
        var alice = server.As("alice");
        var lease = await alice.AddLeaseAsync("alice-nosub", "/auth/nosub").DefaultTimeout();
        var nobody = server.Client(TestTokens.Mint(subject: null));

        var release = () => nobody.RemoveLeaseAsync("alice-nosub", "/auth/nosub");
        var list = () => nobody.ListLeasesAsync();

        (await release.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
        (await list.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
        var after = await alice.GetLeaseAsync("/auth/nosub").DefaultTimeout();
        (after.Holder, after.Epoch).Should().Be(("alice-nosub", lease.Epoch), "the refused call changed nothing");
    }

    [Fact]
    public async Task Call_WithValidToken_IsServed()
    {
        var lease = await server.As("alice").AddLeaseAsync("alice-writer", "/auth/ok").DefaultTimeout();

        lease.Holder.Should().Be("alice-writer");
    }

    [Fact]
    public async Task TokenProvider_IsAskedOnEveryCall_SoARefreshedTokenIsUsed()
    {
        var tokens = new Queue<string>([TestTokens.Mint("alice", expiresIn: TimeSpan.FromMinutes(-10)), TestTokens.Mint("alice")]);
        var client = server.Client(token: null, tokenProvider: _ => ValueTask.FromResult<string?>(tokens.Dequeue()));

        var first = () => client.AddLeaseAsync("refreshing", "/auth/refresh");
        (await first.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
        (await client.AddLeaseAsync("refreshing", "/auth/refresh").DefaultTimeout()).Holder.Should().Be("refreshing");
    }

    [Fact]
    public async Task Health_WithoutCredentials_IsServing()
    {
        var status = await server.Client(token: null).CheckHealthAsync().DefaultTimeout();

        status.Should().Be(HealthCheckResponse.Types.ServingStatus.Serving);
    }

    [Fact]
    public async Task ClientCertificate_FromTheTrustedCa_AuthenticatesItsCommonName()
    {
        using var certificate = server.Pki.IssueClient("carol");
        var byCertificate = server.WithCertificate(certificate);

        await byCertificate.AddLeaseAsync("carol-writer", "/auth/cert").DefaultTimeout();

        // The principal is the CN: the same principal by token owns the holder, another does not.
        (await server.As("carol").RenewLeaseAsync("carol-writer").DefaultTimeout()).LeasesRenewed.Should().Be(1);
        var other = () => server.As("dave").RenewLeaseAsync("carol-writer");
        (await other.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
    }

    [Theory]
    [InlineData("L=ops")] // No CN: .NET's "simple name" falls back to another attribute, here the admin's name.
    [InlineData("UID=ops, DC=example")]
    [InlineData("CN=ops, CN=carol")] // Two CNs: which one is the principal?
    [InlineData("CN=ops+OU=x, CN=carol")]
    public async Task ClientCertificate_WithoutExactlyOneCommonName_IsUnauthenticated_AndNothingChanges(string subject)
    {
        using var certificate = server.Pki.IssueClientWithSubject(subject);
        var nameless = server.WithCertificate(certificate);

        var stop = () => nameless.CallAsync(o => nameless.Simulator.StopDataNodeAsync(new DataNodeRequest { DatanodeId = "dn-2" }, o));
        var add = () => nameless.AddLeaseAsync("nameless", "/auth/nameless");

        (await stop.Should().ThrowAsync<RpcException>(subject)).Which.StatusCode.Should().Be(StatusCode.Unauthenticated, subject);
        (await add.Should().ThrowAsync<RpcException>(subject)).Which.StatusCode.Should().Be(StatusCode.Unauthenticated, subject);
        var admin = server.As(SecureServer.Admin);
        (await admin.CallAsync(o => admin.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout())
            .Datanodes.Should().OnlyContain(n => n.Running, "the refused StopDataNode changed nothing");
    }

    [Fact]
    public async Task ClientCertificate_FromAnotherCa_IsUnauthenticated()
    {
        using var stranger = new TestPki("Another CA");
        using var certificate = stranger.IssueClient("mallory");

        var call = () => server.WithCertificate(certificate).AddLeaseAsync("mallory", "/auth/stranger");

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unauthenticated);
    }

    [Fact]
    public void Client_TokenOverCleartextToANonLoopbackAddress_IsRefused()
    {
        var create = () => LeaseClient.Create("http://leases.example:5050", new LeaseClientOptions { BearerToken = "t" });

        create.Should().Throw<ArgumentException>().WithMessage("*only over TLS*");
    }
}
