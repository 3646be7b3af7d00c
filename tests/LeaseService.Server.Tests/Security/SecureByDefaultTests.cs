using LeaseService.Client;
using LeaseService.Server.Hosting;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;

namespace LeaseService.Server.Tests.Security;

/// <summary>Without authentication the server serves loopback only, unless Security:AllowAnonymous=true; bad authentication settings stop start-up.</summary>
public sealed class SecureByDefaultTests
{
    private static readonly string[] Common = ["--Metrics:Url=", "--Storage:Provider=InMemory", "--Serilog:MinimumLevel:Default=Warning"];

    [Theory]
    [InlineData("--urls", "http://0.0.0.0:0")]
    [InlineData("--urls", "http://+:0")]
    [InlineData("--urls", "http://127.0.0.1:0;http://[::]:0")]
    [InlineData("--Kestrel:Endpoints:Public:Url", "http://*:0")]
    [InlineData("--HTTP_PORTS", "0")]
    public void Build_NonLoopbackWithoutAuthentication_RefusesNamingAllowAnonymous(string key, string value)
    {
        var build = () => LeaseServer.Build([key, value, .. Common]);

        var refusal = build.Should().Throw<StartupException>().Which;
        refusal.Message.Should().Contain("Security:AllowAnonymous").And.NotContain("\n");
        StartupFailure.Describe(refusal).Should().Be(refusal.Message, "Program prints it as one line and exits 2");
    }

    [Fact]
    public async Task Build_NonLoopbackWithAllowAnonymous_Serves()
    {
        await using var app = LeaseServer.Build(["--urls", "http://0.0.0.0:0", "--Security:AllowAnonymous=true", .. Common]);
        await app.StartAsync().DefaultTimeout();
        var port = new Uri(app.ListeningAddresses().Single().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Port;

        using var client = LeaseClient.Create($"http://127.0.0.1:{port}");
        (await client.AddLeaseAsync("anyone", "/open").DefaultTimeout()).Holder.Should().Be("anyone");
        await app.StopAsync().DefaultTimeout();
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://localhost:0")]
    [InlineData("http://[::1]:0")]
    public void Build_LoopbackWithoutAuthentication_IsAllowed(string url)
    {
        var build = () => LeaseServer.Build(["--urls", url, .. Common]);

        build.Should().NotThrow();
    }

    [Fact]
    public void Build_NonLoopbackWithAuthentication_IsAllowed()
    {
        var build = () => LeaseServer.Build(["--urls", "http://0.0.0.0:0", .. TestTokens.Settings, .. Common]);

        build.Should().NotThrow();
    }

    [Theory]
    [InlineData("--urls", "http://127.0.0.1:0")]
    [InlineData("--Kestrel:Endpoints:Plain:Url", "http://127.0.0.1:0")]
    public void Build_ClientCertificatesWithoutTls_RefusesNamingTheKey(string key, string url)
    {
        using var pki = new TestPki();

        var build = () => LeaseServer.Build([key, url, $"--Authentication:Certificate:TrustAnchors:0={pki.CaPath}", .. TestTokens.Settings, .. Common]);

        var refusal = build.Should().Throw<StartupException>().Which;
        refusal.Message.Should().Contain("Authentication:Certificate:TrustAnchors is set but no endpoint uses TLS");
        StartupFailure.Describe(refusal).Should().Be(refusal.Message);
    }

    [Theory]
    [InlineData("Authorization:Admins", "--Authorization:Admins:0=ops")]
    [InlineData("Authorization:Admins", "--Authorization:Admins:0=ops", "--Security:AllowAnonymous=true")]
    [InlineData("Authorization:PathRules", "--Authorization:PathRules:alice:0=/logs")]
    [InlineData("Authentication:Jwt:Issuer", "--Authentication:Jwt:Issuer=https://issuer.example", "--Authentication:Jwt:SigningKey=")]
    public void Build_AuthorizationSettingsWithoutAuthentication_RefusesNamingTheKey(string key, params string[] settings)
    {
        // On loopback too: the signing key's variable unset must not leave the rules silently unchecked.
        var build = () => LeaseServer.Build(["--urls", "http://127.0.0.1:0", .. settings, .. Common]);

        var refusal = build.Should().Throw<StartupException>().Which;
        refusal.Message.Should().Contain($"{key} is set but no authentication is configured").And.Contain("Authentication:Jwt:SigningKey");
        StartupFailure.Describe(refusal).Should().Be(refusal.Message);
    }

    [Theory]
    [InlineData("Authentication:Jwt:Issuer and Authentication:Jwt:Audience are required", "--Authentication:Jwt:SigningKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("is not base64", "--Authentication:Jwt:SigningKey=not base64!", "--Authentication:Jwt:Issuer=i", "--Authentication:Jwt:Audience=a")]
    [InlineData("needs at least 32", "--Authentication:Jwt:SigningKey=AAAA", "--Authentication:Jwt:Issuer=i", "--Authentication:Jwt:Audience=a")]
    [InlineData("Audience is required with Authentication:Jwt:Authority", "--Authentication:Jwt:Authority=https://login.example")]
    [InlineData("Authentication:Jwt:Authority and Authentication:Jwt:SigningKey are both set", "--Authentication:Jwt:Authority=https://login.example", "--Authentication:Jwt:SigningKey=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "--Authentication:Jwt:Issuer=i", "--Authentication:Jwt:Audience=a")]
    [InlineData("Authentication:Jwt:Authority is 'http://keycloak:8080/realms/leases'; it must be the issuer's https:// URL", "--Authentication:Jwt:Authority=http://keycloak:8080/realms/leases", "--Authentication:Jwt:Audience=a")]
    [InlineData("Authentication:Jwt:Authority is 'login.example'; it must be the issuer's https:// URL", "--Authentication:Jwt:Authority=login.example", "--Authentication:Jwt:Audience=a")]
    [InlineData("Authentication:Certificate:TrustAnchors: cannot read", "--Authentication:Certificate:TrustAnchors:0=/nonexistent/ca.pem")]
    [InlineData("Authorization:PathRules:alice:1 is ''; a path rule's prefix is an absolute path", "--Authorization:PathRules:alice:0=/logs", "--Authorization:PathRules:alice:1=")]
    [InlineData("Authorization:PathRules:alice is ''", "--Authorization:PathRules:alice=")]
    [InlineData("Authorization:PathRules:*:0 is 'logs'", "--Authorization:PathRules:*:0=logs")]
    public async Task Start_InvalidAuthenticationSettings_RefusesNamingTheKey(string expected, params string[] settings)
    {
        var start = async () =>
        {
            await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", .. settings, .. Common]);
            await app.StartAsync().DefaultTimeout();
        };

        var refusal = (await start.Should().ThrowAsync<Exception>()).Which;
        StartupFailure.Describe(refusal).Should().Contain(expected);
    }
}
