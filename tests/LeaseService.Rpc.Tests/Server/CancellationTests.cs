using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.Tests.Server;

public sealed class CancellationTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ClientCancelsUnaryInFlight_HandlerTokenFiresAndServerStaysHealthy()
    {
        using var cts = new CancellationTokenSource();
        var call = _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, cancellationToken: cts.Token);
        await _server.Service.SlowStarted.Task.DefaultTimeout();

        await cts.CancelAsync();

        await FluentActions.Awaiting(() => call).Should().ThrowAsync<OperationCanceledException>();
        await _server.Service.SlowCancelled.Task.DefaultTimeout();
        var next = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "ok" }).DefaultTimeout();
        next.Status.Should().Be(StatusCode.OK);
        _server.Logs.Entries.Should().NotContain(e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task ClientDisposesServerStream_HandlerTokenFires()
    {
        var call = await _server.Client.StartStreamingAsync("/test.v1.Test/SlowStream", new Empty()).DefaultTimeout();
        (await call.ReadAsync(Int32Value.Parser))!.Value.Should().Be(1);
        await _server.Service.SlowStarted.Task.DefaultTimeout();

        call.Dispose();

        await _server.Service.SlowCancelled.Task.DefaultTimeout();
        _server.Logs.Entries.Should().NotContain(e => e.Level >= LogLevel.Error);
    }
}
