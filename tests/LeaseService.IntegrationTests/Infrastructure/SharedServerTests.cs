using Google.Protobuf;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>Base of the scenarios on the <see cref="SharedServer"/>: helpers, and its output on failure.</summary>
[Collection(SharedServerCollection.Name)]
public abstract class SharedServerTests(SharedServer server, ITestOutputHelper output) : IAsyncLifetime
{
    protected SharedServer Server { get; } = server;

    protected LeaseClient Client => Server.Client;

    protected TestClock Clock => Server.Clock;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        // Shown by xunit when the test failed: what the server logged (warnings and errors).
        output.WriteLine("--- server output ---");
        output.WriteLine(Server.Output);
        return Task.CompletedTask;
    }

    protected Task<WriteBlockResponse> WriteAsync(AddBlockResponse block, int bytes, bool finalize = false, ulong[]? lengths = null, ulong? epoch = null)
        => Simulator.WriteAsync(Client, block, bytes, finalize, lengths, epoch);
}

/// <summary>leases.v1.DataNodeSimulator calls the scenarios make.</summary>
public static class Simulator
{
    public static Task<WriteBlockResponse> WriteAsync(LeaseClient client, AddBlockResponse block, int bytes, bool finalize = false, ulong[]? lengths = null, ulong? epoch = null)
    {
        var request = new WriteBlockRequest
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = epoch ?? block.Epoch,
            Data = ByteString.CopyFrom(new byte[bytes]),
            Finalize = finalize,
        };
        request.ReplicaLengths.AddRange(lengths ?? []);
        return client.CallAsync(o => client.Simulator.WriteBlockAsync(request, o)).DefaultTimeout();
    }

    public static Task<DataNodeInfo> PauseAsync(LeaseClient client, string dataNode)
        => client.CallAsync(o => client.Simulator.PauseDataNodeAsync(new DataNodeRequest { DatanodeId = dataNode }, o)).DefaultTimeout();

    public static Task<DataNodeInfo> StopAsync(LeaseClient client, string dataNode)
        => client.CallAsync(o => client.Simulator.StopDataNodeAsync(new DataNodeRequest { DatanodeId = dataNode }, o)).DefaultTimeout();

    public static Task<DataNodeInfo> RestartAsync(LeaseClient client, string dataNode)
        => client.CallAsync(o => client.Simulator.RestartDataNodeAsync(new DataNodeRequest { DatanodeId = dataNode }, o)).DefaultTimeout();

    public static Task<ListReplicasResponse> ReplicasAsync(LeaseClient client, ulong blockId)
        => client.CallAsync(o => client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = blockId }, o)).DefaultTimeout();
}
