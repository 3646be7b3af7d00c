using Google.Protobuf;
using Grpc.Core;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Server.Tests;

/// <summary><c>DataNodeSimulator/WriteBlock</c> over gRPC: numbers out of range, and a block's pipeline that is not what the simulator has now.</summary>
public sealed class WriteBlockPipelineTests : IAsyncLifetime
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("leaseservice-writeblock-");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _directory.Delete(recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("block_id")]
    [InlineData("generation_stamp")]
    [InlineData("epoch")]
    [InlineData("replica_lengths")]
    [InlineData("offset")]
    public async Task Write_NumberAboveTheLargestEverIssued_InvalidArgumentNamingTheField_NotAnotherNumber(string field)
    {
        await using var server = await ServerFixture.StartAsync();
        await server.Client.AddLeaseAsync("w", "/a").DefaultTimeout();
        var block = await server.Client.AddBlockAsync("w", "/a").DefaultTimeout();
        var write = new WriteBlockRequest
        {
            BlockId = field == "block_id" ? ulong.MaxValue : block.Block.BlockId,
            GenerationStamp = field == "generation_stamp" ? ulong.MaxValue : block.Block.GenerationStamp,
            Epoch = field == "epoch" ? ulong.MaxValue : block.Epoch,
            Data = ByteString.CopyFrom(1, 2, 3),
        };
        if (field == "replica_lengths")
        {
            write.ReplicaLengths.Add(ulong.MaxValue);
        }

        if (field == "offset")
        {
            write.Offset = (ulong)long.MaxValue + 1;
        }

        var refused = await FluentActions.Awaiting(() => server.Client.CallAsync(o => server.Client.Simulator.WriteBlockAsync(write, o)))
            .Should().ThrowAsync<LeaseArgumentException>();
        refused.Which.Status.Detail.Should().Be($"{field} must be at most {long.MaxValue}"); // Not "block -1 does not exist", "epoch -1 … is no longer current".
        var replicas = await server.Client.CallAsync(o => server.Client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = block.Block.BlockId }, o)).DefaultTimeout();
        replicas.Replicas.Should().BeEmpty();
    }

    [Fact]
    public async Task Write_OffsetWhereTheBlockDoesNotEnd_FailedPreconditionNamingItsLength_WithoutOffsetAppends()
    {
        await using var server = await ServerFixture.StartAsync();
        await server.Client.AddLeaseAsync("w", "/a").DefaultTimeout();
        var block = await server.Client.AddBlockAsync("w", "/a").DefaultTimeout();
        WriteBlockRequest Write(ulong? offset)
        {
            var request = new WriteBlockRequest { BlockId = block.Block.BlockId, GenerationStamp = block.Block.GenerationStamp, Epoch = block.Epoch, Data = ByteString.CopyFrom(1, 2, 3) };
            if (offset is { } o)
            {
                request.Offset = o;
            }

            return request;
        }

        async Task<IEnumerable<ulong>> LengthsAsync() =>
            (await server.Client.CallAsync(o => server.Client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = block.Block.BlockId }, o)).DefaultTimeout()).Replicas.Select(r => r.NumBytes);

        await server.Client.CallAsync(o => server.Client.Simulator.WriteBlockAsync(Write(0), o)).DefaultTimeout();

        var refused = await FluentActions.Awaiting(() => server.Client.CallAsync(o => server.Client.Simulator.WriteBlockAsync(Write(0), o)))
            .Should().ThrowAsync<LeaseConflictException>();
        refused.Which.Status.Detail.Should().Contain("holds 3 bytes").And.Contain("starts at byte 0");
        (await LengthsAsync()).Should().Equal(3UL, 3UL, 3UL);

        await server.Client.CallAsync(o => server.Client.Simulator.WriteBlockAsync(Write(3), o)).DefaultTimeout();
        await server.Client.CallAsync(o => server.Client.Simulator.WriteBlockAsync(Write(null), o)).DefaultTimeout();
        (await LengthsAsync()).Should().Equal(9UL, 9UL, 9UL);
    }

    [Fact]
    public async Task Write_BlockAllocatedOnADataNodeTheRestartedServerNoLongerHas_UnavailableNotUnknown()
    {
        string[] durable = ["--Storage:Provider=RocksDb", $"--Storage:Path={_directory.FullName}"];
        AddBlockResponse block;
        await using (var before = await ServerFixture.StartAsync([.. durable, "--DataNodes:DataNodeCount=5"]))
        {
            await before.Client.AddLeaseAsync("w", "/a").DefaultTimeout();
            await before.Client.AddLeaseAsync("w", "/b").DefaultTimeout();
            await before.Client.AddBlockAsync("w", "/a").DefaultTimeout(); // dn-1, dn-2, dn-3.
            block = await before.Client.AddBlockAsync("w", "/b").DefaultTimeout();
        }

        block.Block.Locations.Should().Contain(id => id == "dn-4" || id == "dn-5", "pipelines rotate over the five DataNodes");

        // The operator runs the server again with three DataNodes: the open file's block names one it no longer has.
        await using var after = await ServerFixture.StartAsync([.. durable, "--DataNodes:DataNodeCount=3"]);
        var write = new WriteBlockRequest
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = block.Epoch,
            Data = ByteString.CopyFrom(1, 2, 3),
        };

        var refused = await FluentActions.Awaiting(() => after.Client.CallAsync(o => after.Client.Simulator.WriteBlockAsync(write, o)))
            .Should().ThrowAsync<LeaseUnavailableException>();
        refused.Which.Status.Detail.Should().Contain("dn-");
        var replicas = await after.Client.CallAsync(o => after.Client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = block.Block.BlockId }, o)).DefaultTimeout();
        replicas.Replicas.Should().BeEmpty("a write the pipeline cannot take reaches no DataNode");
    }
}
