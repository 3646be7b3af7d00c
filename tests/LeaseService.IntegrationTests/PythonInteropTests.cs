using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>Python grpcio, a gRPC client no one here wrote, drives every RPC of the server process.</summary>
public sealed class PythonInteropTests(SharedServer server, ITestOutputHelper output) : SharedServerTests(server, output)
{
    [PythonInteropFact]
    public async Task PythonGrpcio_EveryRpcErrorDeadlineAndUnknownMethod()
    {
        PythonGrpc.MissingReason.Should().BeNull("CI=true requires python3-grpcio for the interop check");
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "lease_interop.py");
        var descriptors = Path.Combine(AppContext.BaseDirectory, "interop", "leases.protoset");

        var (exit, text) = await PythonGrpc.RunAsync(script, new Uri(Server.Address).Authority, descriptors).DefaultTimeout();

        exit.Should().Be(0, text);
        text.Should().Contain("interop: 0 failed");
    }
}
