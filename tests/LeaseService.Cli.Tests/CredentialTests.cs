using LeaseService.Testing;

namespace LeaseService.Cli.Tests;

/// <summary>--token / LEASE_TOKEN, --cert and --key, --ca against a server with authentication over real TLS.</summary>
public sealed class CredentialTests(SecureServer server) : IClassFixture<SecureServer>
{
    [Fact]
    public async Task Token_FromTheOptionOrTheEnvironment_Authenticates()
    {
        var byOption = await RunAsync(["add", "/cli-auth/a", "--holder", "cli-a", "--token", TestTokens.Mint("cli-user"), "--ca", server.Pki.CaPath]);
        var byEnvironment = await RunAsync(["renew", "--holder", "cli-a", "--ca", server.Pki.CaPath], new() { ["LEASE_TOKEN"] = TestTokens.Mint("cli-user") });

        byOption.ExitCode.Should().Be(0, byOption.Error);
        byEnvironment.ExitCode.Should().Be(0, byEnvironment.Error);
    }

    [Fact]
    public async Task Token_ThatNoHeaderCanCarry_IsAUsageError_NotAnUnreachableServer()
    {
        var accented = await RunAsync(["ls", "--token", "é" + TestTokens.Mint("cli-user"), "--ca", server.Pki.CaPath]);
        var newline = await RunAsync(["ls", "--ca", server.Pki.CaPath], new() { ["LEASE_TOKEN"] = "a\nb" });
        var padded = await RunAsync(["ls", "--token", TestTokens.Mint("cli-user") + "=", "--ca", server.Pki.CaPath]);

        accented.ExitCode.Should().Be(2, accented.Error);
        accented.Error.Should().StartWith("lease ls: bad token (--token): a bearer token is ASCII");
        newline.ExitCode.Should().Be(2, newline.Error);
        newline.Error.Should().StartWith("lease ls: bad token ($LEASE_TOKEN)");
        padded.Error.Should().NotContain("bad token", "'=' padding at the end is allowed (RFC 6750)");
    }

    [Fact]
    public async Task NoToken_IsUnauthenticated_ExitOne()
    {
        var result = await RunAsync(["ls", "--ca", server.Pki.CaPath]);

        result.ExitCode.Should().Be(1);
        result.Error.Should().Contain("UNAUTHENTICATED");
    }

    [Fact]
    public async Task CertAndKey_AuthenticateAsTheCommonName()
    {
        var (cert, key) = server.Pki.WriteClient("cli-cert-user");

        var add = await RunAsync(["add", "/cli-auth/cert", "--holder", "cli-cert", "--cert", cert, "--key", key, "--ca", server.Pki.CaPath]);
        var asOwnerByToken = await RunAsync(["renew", "--holder", "cli-cert", "--token", TestTokens.Mint("cli-cert-user"), "--ca", server.Pki.CaPath]);
        var asAnother = await RunAsync(["renew", "--holder", "cli-cert", "--token", TestTokens.Mint("someone-else"), "--ca", server.Pki.CaPath]);

        add.ExitCode.Should().Be(0, add.Error);
        asOwnerByToken.ExitCode.Should().Be(0, asOwnerByToken.Error);
        asAnother.ExitCode.Should().Be(1);
        asAnother.Error.Should().Contain("PERMISSION_DENIED");
    }

    [Fact]
    public async Task CertWithoutKey_IsAUsageError()
    {
        var (cert, _) = server.Pki.WriteClient("cli-half");

        var result = await RunAsync(["ls", "--cert", cert, "--ca", server.Pki.CaPath]);

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("--cert and --key");
    }

    // GetFile is open to any authenticated principal; the replica listing comes from the
    // admin-only DataNodeSimulator. Its PERMISSION_DENIED failed the whole command (exit 1).
    [Fact]
    public async Task File_ByAPrincipalThatIsNotAnAdmin_ShowsTheFileWithoutReplicas()
    {
        var writer = server.As("cli-file-writer");
        await writer.AddLeaseAsync("cli-file-holder", "/cli-auth/file").DefaultTimeout();
        var block = await writer.AddBlockAsync("cli-file-holder", "/cli-auth/file").DefaultTimeout();
        var blockId = block.Block.BlockId.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var table = await RunAsync(["file", "/cli-auth/file", "--token", TestTokens.Mint("cli-file-writer"), "--ca", server.Pki.CaPath]);
        var json = await RunAsync(["file", "/cli-auth/file", "--json", "--token", TestTokens.Mint("cli-file-writer"), "--ca", server.Pki.CaPath]);
        var byAdmin = await RunAsync(["file", "/cli-auth/file", "--json", "--token", TestTokens.Mint(SecureServer.Admin), "--ca", server.Pki.CaPath]);

        table.ExitCode.Should().Be(0, table.ToString());
        table.Out.Should().Contain("under construction:  yes").And.Contain(blockId).And.NotContain("DATANODE", "no replica table");
        json.ExitCode.Should().Be(0, json.ToString());
        json.Out.Should().Contain("\"replicas\":null");
        byAdmin.ExitCode.Should().Be(0, byAdmin.ToString());
        byAdmin.Out.Should().Contain("\"replicas\":[", "an admin gets the listing (empty: nothing written yet)");
    }

    private async Task<CliResult> RunAsync(string[] args, Dictionary<string, string>? environment = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await LeaseCli.RunAsync(
            [.. args, "--server", server.Address],
            stdout,
            stderr,
            environment: name => environment is not null && environment.TryGetValue(name, out var value) ? value : null).DefaultTimeout();
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }
}
