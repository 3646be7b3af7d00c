using LeaseService.Testing;

namespace LeaseService.Server.Tests.Security;

/// <summary>Python grpcio over TLS with its own bearer-token call credentials: authentication, ownership and admin rules.</summary>
public sealed class PythonAuthInteropTests(SecureServer server) : IClassFixture<SecureServer>
{
    [PythonInteropFact]
    public async Task PythonGrpcio_BearerTokens_AuthenticateAndAreAuthorized()
    {
        PythonGrpc.MissingReason.Should().BeNull("CI=true requires python3-grpcio for the interop check");
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "lease_interop_auth.py");
        var descriptors = Path.Combine(AppContext.BaseDirectory, "interop", "leases.protoset");

        var (exit, output) = await PythonGrpc.RunAsync(
            script,
            new Uri(server.Address).Authority,
            descriptors,
            server.Pki.CaPath,
            TestTokens.Mint("py-alice"),
            TestTokens.Mint("py-bob"),
            TestTokens.Mint(SecureServer.Admin),
            TestTokens.Mint("py-alice", expiresIn: TimeSpan.FromMinutes(-10))).DefaultTimeout();

        exit.Should().Be(0, output);
        output.Should().Contain("interop-auth: 0 failed");
    }
}
