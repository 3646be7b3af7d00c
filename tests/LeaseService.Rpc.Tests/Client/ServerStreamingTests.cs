using System.Globalization;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

public sealed class ServerStreamingTests
{
    [Fact]
    public async Task ServerStreaming_ThousandMessages_AllArriveInOrder()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            var count = int.Parse(request.Service, CultureInfo.InvariantCulture);
            for (var i = 0; i < count; i++)
            {
                await Wire.WriteMessageAsync(context, TestMethods.Message(i.ToString(CultureInfo.InvariantCulture)));
            }

            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("1000"));

        var received = await ReadAllAsync(call).DefaultTimeout();

        received.Should().HaveCount(1000);
        for (var i = 0; i < received.Count; i++)
        {
            received[i].Should().Be(i.ToString(CultureInfo.InvariantCulture));
        }

        call.GetStatus().Should().Be(Status.Ok);
    }

    [Fact]
    public async Task ServerStreaming_ManyMessagesInOneWrite_AreSplitCorrectly()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            var batch = new List<byte>();
            for (var i = 0; i < 50; i++)
            {
                batch.AddRange(Wire.Frame(TestMethods.Message(new string('m', i))));
            }

            await Wire.WriteAsync(context, [.. batch]);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));

        var received = await ReadAllAsync(call).DefaultTimeout();

        received.Should().HaveCount(50);
        received.Select(s => s.Length).Should().Equal(Enumerable.Range(0, 50));
    }

    [Fact]
    public async Task ServerStreaming_FirstMessageArrivesBeforeServerFinishes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, TestMethods.Message("early"));
            await release.Task;
            await Wire.WriteMessageAsync(context, TestMethods.Message("late"));
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        await using var reader = call.ReadAllAsync().GetAsyncEnumerator();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        reader.Current.Service.Should().Be("early");
        var getStatus = () => call.GetStatus();
        getStatus.Should().Throw<InvalidOperationException>("the call is still running");
        release.SetResult();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        reader.Current.Service.Should().Be("late");
        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeFalse();
        call.GetStatus().Should().Be(Status.Ok);
    }

    [Fact]
    public async Task ServerStreaming_ErrorStatusAfterMessages_DeliversMessagesThenThrows()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            for (var i = 0; i < 3; i++)
            {
                await Wire.WriteMessageAsync(context, TestMethods.Message("m" + i));
            }

            Wire.SetTrailers(context, 5, "lease gone");
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        var received = new List<string>();

        var read = async () =>
        {
            await foreach (var message in call.ReadAllAsync())
            {
                received.Add(message.Service);
            }
        };

        var thrown = await read.Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.Status.Should().Be(new Status(StatusCode.NotFound, "lease gone"));
        received.Should().Equal("m0", "m1", "m2");
        call.GetStatus().Should().Be(new Status(StatusCode.NotFound, "lease gone"));
    }

    [Fact]
    public async Task ServerStreaming_TrailersOnlyOk_EndsWithNoMessages()
    {
        await using var server = await FakeGrpcServer.StartAsync(context =>
        {
            Wire.SetTrailersOnly(context, "0");
            return Task.CompletedTask;
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));

        var received = await ReadAllAsync(call).DefaultTimeout();

        received.Should().BeEmpty();
        call.GetStatus().Code.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task ServerStreaming_TrailersOnlyError_Throws()
    {
        await using var server = await FakeGrpcServer.StartAsync(context =>
        {
            Wire.SetTrailersOnly(context, "12", "Method not found");
            return Task.CompletedTask;
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));

        var read = () => ReadAllAsync(call);

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.Status.Should().Be(new Status(StatusCode.Unimplemented, "Method not found"));
        call.GetStatus().Code.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task ServerStreaming_BodyEndsWithoutStatus_ThrowsUnknown()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.WriteMessageAsync(context, TestMethods.Message("one"));
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));

        var read = () => ReadAllAsync(call);

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Unknown);
    }

    [Fact]
    public async Task ServerStreaming_ReadTwice_Throws()
    {
        await using var server = await FakeGrpcServer.StartAsync(context =>
        {
            Wire.SetTrailersOnly(context, "0");
            return Task.CompletedTask;
        });
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        await ReadAllAsync(call).DefaultTimeout();

        var again = () => ReadAllAsync(call);

        await again.Should().ThrowAsync<InvalidOperationException>().DefaultTimeout();
    }

    private static async Task<List<string>> ReadAllAsync(AsyncServerStreamingCall<HealthCheckRequest> call)
    {
        var received = new List<string>();
        await foreach (var message in call.ReadAllAsync())
        {
            received.Add(message.Service);
        }

        return received;
    }
}
