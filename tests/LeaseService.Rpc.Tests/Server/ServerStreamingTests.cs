using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server;

public sealed class ServerStreamingTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ThousandMessages_ArriveInOrderThenOk()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Count", new Int32Value { Value = 1000 }).DefaultTimeout();

        result.Messages.Select(m => Int32Value.Parser.ParseFrom(m).Value).Should().Equal(Enumerable.Range(0, 1000));
        result.TrailersOnly.Should().BeFalse();
        result.Trailers.GetValues("grpc-status").Should().Equal("0");
    }

    [Fact]
    public async Task HandlerFailsAfterWriting_MessagesThenErrorStatusInTrailers()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/CountThenFail", new Int32Value { Value = 3 }).DefaultTimeout();

        result.Messages.Should().HaveCount(3);
        result.TrailersOnly.Should().BeFalse();
        result.Trailers.GetValues("grpc-status").Should().Equal("10");
        result.Trailers.GetValues("grpc-message").Should().Equal("stopped after 3");
        result.Trailers.GetValues("x-written").Should().Equal("3");
    }

    [Fact]
    public async Task HandlerFailsBeforeWriting_TrailersOnlyError()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/CountThenFail", new Int32Value { Value = 0 }).DefaultTimeout();

        result.TrailersOnly.Should().BeTrue();
        result.Status.Should().Be(StatusCode.Aborted);
    }

    [Fact]
    public async Task ZeroMessages_IsTrailersOnlyOk()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Count", new Int32Value { Value = 0 }).DefaultTimeout();

        result.Messages.Should().BeEmpty();
        result.TrailersOnly.Should().BeTrue();
        result.Headers.GetValues("grpc-status").Should().Equal("0");
        result.ContentHeaders.ContentType!.MediaType.Should().Be("application/grpc");
    }

    [Fact]
    public async Task EachMessageIsFlushed_ReaderSeesFirstBeforeHandlerEnds()
    {
        using var call = await _server.Client.StartStreamingAsync("/test.v1.Test/SlowStream", new Empty()).DefaultTimeout();

        var first = await call.ReadAsync(Int32Value.Parser);

        first!.Value.Should().Be(1);
        _server.Service.SlowCancelled.Task.IsCompleted.Should().BeFalse("the handler is still running");
    }

    [Fact]
    public async Task StreamingRequestWithTwoMessages_IsNotOk()
    {
        var frame = GrpcTestClient.Frame(new Int32Value { Value = 3 });

        var result = await _server.Client.SendAsync("/test.v1.Test/Count", new ByteArrayContent([.. frame, .. frame])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Unimplemented);
        result.Messages.Should().BeEmpty();
    }
}
