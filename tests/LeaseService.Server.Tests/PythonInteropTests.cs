using LeaseService.Testing;


namespace LeaseService.Server.Tests;

/// <summary>Python grpcio, a gRPC client no one here wrote, drives every RPC of the running server.</summary>
public sealed class PythonInteropTests
{
    [PythonInteropFact]
    public async Task PythonGrpcio_EveryRpcErrorDeadlineAndUnknownMethod()
    {
        PythonGrpc.MissingReason.Should().BeNull("CI=true requires python3-grpcio for the interop check");
        await using var server = await ServerFixture.StartAsync();
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "lease_interop.py");
        var descriptors = Path.Combine(AppContext.BaseDirectory, "interop", "leases.protoset");

        var (exit, output) = await PythonGrpc.RunAsync(script, new Uri(server.Address).Authority, descriptors).DefaultTimeout();

        exit.Should().Be(0, output);
        output.Should().Contain("interop: 0 failed");
    }
}
