using LeaseService.Rpc.Client;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

public sealed class CancellationTests
{
    [Fact]
    public async Task Unary_CancelledBeforeResponseHeaders_ThrowsCancelledAndServerSeesAbort()
    {
        var requestReceived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var aborted = Wire.AbortedAsync(context);
            await Wire.ReadRequestBodyAsync(context);
            requestReceived.SetResult();
            await aborted;
            serverAborted.SetResult();
        });
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(CancellationToken: cts.Token));
        await requestReceived.Task.DefaultTimeout();
        await cts.CancelAsync();

        (await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_CancelledAfterResponseHeaders_ThrowsCancelledAndServerSeesAbort()
    {
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(context => Wire.HeadersThenAwaitAbortAsync(context, headersSent, serverAborted));
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(CancellationToken: cts.Token));
        await headersSent.Task.DefaultTimeout();
        await cts.CancelAsync();

        (await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_TokenAlreadyCancelled_FailsWithoutSending()
    {
        await using var server = await FakeGrpcServer.StartAsync(_ => Task.CompletedTask);
        using var channel = server.CreateChannel();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(CancellationToken: new CancellationToken(canceled: true)));

        (await call.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task ServerStreaming_CallTokenCancelledMidStream_ThrowsCancelledAndServerSeesAbort()
    {
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StreamingServerAsync(serverAborted);
        using var channel = server.CreateChannel();
        using var cts = new CancellationTokenSource();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), new CallOptions(CancellationToken: cts.Token));
        await using var reader = call.ReadAllAsync().GetAsyncEnumerator();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        await cts.CancelAsync();

        (await reader.Awaiting(r => r.MoveNextAsync().AsTask()).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        call.GetStatus().Code.Should().Be(StatusCode.Cancelled);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ServerStreaming_ReadTokenCancelledWhileReading_CancelsCall()
    {
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StreamingServerAsync(serverAborted);
        using var channel = server.CreateChannel();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        using var cts = new CancellationTokenSource();
        await using var reader = call.ReadAllAsync(cts.Token).GetAsyncEnumerator();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        var pending = reader.MoveNextAsync().AsTask();
        await cts.CancelAsync();

        (await pending.Awaiting(p => p).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ServerStreaming_DisposedWhileReading_ThrowsCancelledAndServerSeesAbort()
    {
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StreamingServerAsync(serverAborted);
        using var channel = server.CreateChannel();
        var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        await using var reader = call.ReadAllAsync().GetAsyncEnumerator();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        var pending = reader.MoveNextAsync().AsTask();
        call.Dispose();

        (await pending.Awaiting(p => p).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
        call.GetStatus().Code.Should().Be(StatusCode.Cancelled);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ServerStreaming_DisposedBeforeReading_ServerSeesAbort()
    {
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StreamingServerAsync(serverAborted);
        using var channel = server.CreateChannel();
        var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
        await using (var reader = call.ReadAllAsync().GetAsyncEnumerator())
        {
            (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        }

        call.Dispose();

        await serverAborted.Task.DefaultTimeout();
        call.GetStatus().Code.Should().Be(StatusCode.Cancelled);
    }

    /// <summary>Sends one message, then waits for the client to reset the stream.</summary>
    private static Task<FakeGrpcServer> StreamingServerAsync(TaskCompletionSource serverAborted)
        => FakeGrpcServer.StartAsync(async context =>
        {
            var aborted = Wire.AbortedAsync(context);
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, TestMethods.Message("first"));
            await aborted;
            serverAborted.SetResult();
        });
}
