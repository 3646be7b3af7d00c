using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>grpc-timeout on a server whose deadline timers run on a fake clock.</summary>
public sealed class DeadlineTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync(_time);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("1M", 600_000_000L)]
    [InlineData("1S", 10_000_000L)]
    [InlineData("500m", 5_000_000L)]
    [InlineData("500000u", 5_000_000L)]
    [InlineData("50000000n", 500_000L)]
    [InlineData("1n", 1L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("500000000n", 5_000_000L)] // More than 8 digits, as C-core clients send.
    public async Task GrpcTimeout_EveryUnit_BecomesTheHandlersDeadline(string header, long expectedTicks)
    {
        var start = _time.GetUtcNow().UtcDateTime;

        var result = await _server.Client.UnaryAsync("/test.v1.Test/Deadline", new Empty(), r => r.Headers.TryAddWithoutValidation("grpc-timeout", header)).DefaultTimeout();

        result.OnlyMessage(StringValue.Parser).Value.Should().Be((start.Ticks + expectedTicks).ToString(CultureInfo.InvariantCulture) + "Z");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1x")]
    [InlineData("12345678901234567890S")]
    [InlineData("S")]
    public async Task GrpcTimeout_Invalid_IsIgnoredAndLogged(string header)
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Deadline", new Empty(), r => r.Headers.TryAddWithoutValidation("grpc-timeout", header)).DefaultTimeout();

        result.OnlyMessage(StringValue.Parser).Value.Should().Be("none");
        _server.Logs.Entries.Should().Contain(e => e.EventId.Id == 4 && e.Message.Contains(header));
    }

    [Fact]
    public async Task NoGrpcTimeout_NoDeadlineAndNoTimer()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Deadline", new Empty()).DefaultTimeout();

        result.OnlyMessage(StringValue.Parser).Value.Should().Be("none");
        _time.ArmedTimerCount.Should().Be(0);
    }

    [Fact]
    public async Task DeadlineExpires_BeforeResponse_TrailersOnlyDeadlineExceededAndHandlerTokenCancelled()
    {
        var call = _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1S"));
        var context = await _server.Service.SlowStarted.Task.DefaultTimeout();
        context.Deadline.Should().Be(_time.GetUtcNow().UtcDateTime.AddSeconds(1));

        _time.Advance(TimeSpan.FromSeconds(1));

        var result = await call.DefaultTimeout();
        result.Status.Should().Be(StatusCode.DeadlineExceeded);
        result.TrailersOnly.Should().BeTrue();
        result.Message.Should().Be("Deadline Exceeded");
        await _server.Service.SlowCancelled.Task.DefaultTimeout();
        context.CancellationToken.IsCancellationRequested.Should().BeTrue();
    }

    [Fact]
    public async Task DeadlineNotYetReached_CallStillRunning()
    {
        var call = _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1S"));
        var context = await _server.Service.SlowStarted.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromMilliseconds(999));

        call.IsCompleted.Should().BeFalse();
        context.CancellationToken.IsCancellationRequested.Should().BeFalse();
        _time.Advance(TimeSpan.FromMilliseconds(1));
        (await call.DefaultTimeout()).Status.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task DeadlineExpires_WhileWaitingForTheRequestBody_DeadlineExceeded()
    {
        var content = new ChunkedContent([[0, 0, 0, 0, 10, 1, 2]], holdOpen: true);
        try
        {
            var armed = _time.WaitForTimerArmedAsync();
            var call = _server.Client.SendAsync("/test.v1.Test/Echo", content, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1S"));
            await armed.DefaultTimeout();
            await content.AllSent.DefaultTimeout();

            _time.Advance(TimeSpan.FromSeconds(1));

            var result = await call.DefaultTimeout();
            result.Status.Should().Be(StatusCode.DeadlineExceeded);
            result.TrailersOnly.Should().BeTrue();
        }
        finally
        {
            content.Release();
        }

        var next = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "ok" }).DefaultTimeout();
        next.Status.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task CallsWithDeadline_ReleaseTheirTimerWhenDone()
    {
        for (var i = 0; i < 3; i++)
        {
            var result = await _server.Client.UnaryAsync("/test.v1.Test/Deadline", new Empty(), r => r.Headers.TryAddWithoutValidation("grpc-timeout", "10S")).DefaultTimeout();
            result.Status.Should().Be(StatusCode.OK);
        }

        _time.ArmedTimerCount.Should().Be(0);
    }

    [Fact]
    public async Task DeadlineExpires_WhileAWriteIsBlockedByFlowControl_WriteFailsAndCallEnds()
    {
        // The client reads nothing, so the server's write waits for HTTP/2 window; the deadline must still end the call.
        using var call = await _server.Client.StartStreamingAsync("/test.v1.Test/Flood", new Empty(), configure: r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1S")).DefaultTimeout();
        await _server.Service.FloodBlocked.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromSeconds(1));

        var error = await _server.Service.FloodEnded.Task.DefaultTimeout();
        error.Should().BeAssignableTo<OperationCanceledException>();
        call.Dispose();
        var next = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "ok" }).DefaultTimeout();
        next.Status.Should().Be(StatusCode.OK);
        _time.ArmedTimerCount.Should().Be(0);
    }

    [Fact]
    public async Task DeadlineExpires_AfterStreamStarted_StatusInTrailersAfterTheMessages()
    {
        using var call = await _server.Client.StartStreamingAsync("/test.v1.Test/SlowStream", new Empty()).DefaultTimeout();
        (await call.ReadAsync(Int32Value.Parser))!.Value.Should().Be(1);
        await _server.Service.SlowStarted.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromSeconds(5));

        // No grpc-timeout on this call: the fake clock moving does nothing.
        _server.Service.SlowCancelled.Task.IsCompleted.Should().BeFalse();
        call.Dispose();
        await _server.Service.SlowCancelled.Task.DefaultTimeout();
    }

    [Fact]
    public async Task DeadlineExpires_DuringServerStream_TrailersCarryDeadlineExceeded()
    {
        var request = GrpcTestClient.CreateRequest("/test.v1.Test/SlowStream", new ByteArrayContent(GrpcTestClient.Frame(new Empty())));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "2S");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _server.Client.BaseAddress };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        using var call = new GrpcStreamingCall(request, response, await response.Content.ReadAsStreamAsync());
        (await call.ReadAsync(Int32Value.Parser))!.Value.Should().Be(1);
        await _server.Service.SlowStarted.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromSeconds(2));

        var result = await call.ReadToEndAsync();
        result.TrailersOnly.Should().BeFalse();
        result.Trailers.GetValues("grpc-status").Should().Equal("4");
        await _server.Service.SlowCancelled.Task.DefaultTimeout();
    }
}

/// <summary>The deadline on the real clock (TimeProvider.System), as production runs it.</summary>
public sealed class SystemClockDeadlineTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task SlowHandler_100msTimeout_DeadlineExceededAndHandlerCancelled()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "100m")).DefaultTimeout();

        result.Status.Should().Be(StatusCode.DeadlineExceeded);
        await _server.Service.SlowCancelled.Task.DefaultTimeout();
        var next = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "ok" }).DefaultTimeout();
        next.Status.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task ZeroTimeout_IsAlreadyExpired()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "0n")).DefaultTimeout();

        result.Status.Should().Be(StatusCode.DeadlineExceeded);
    }
}
