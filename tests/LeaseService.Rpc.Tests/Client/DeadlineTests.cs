using System.Diagnostics;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

public sealed class DeadlineTests
{
    [Fact]
    public async Task Unary_SlowServerAnd50msDeadline_ThrowsDeadlineExceededAndServerSeesAbort()
    {
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var aborted = Wire.AbortedAsync(context);
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            if (request.Service == "warm-up")
            {
                await Wire.WriteMessageAsync(context, request);
                Wire.SetTrailers(context, 0);
                return;
            }

            await aborted;
            serverAborted.SetResult();
        });
        using var channel = server.CreateChannel();

        // Connect first, so the 50 ms are spent waiting on the server rather than connecting.
        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("warm-up")).DefaultTimeout();
        var stopwatch = Stopwatch.StartNew();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(50)));

        var thrown = await call.Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_DeadlineFiresAfterHeaders_ThrowsDeadlineExceededAndServerSeesAbort()
    {
        var time = new FakeTimeProvider();
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(context => Wire.HeadersThenAwaitAbortAsync(context, headersSent, serverAborted));
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        var armed = time.WaitForTimerArmedAsync();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddSeconds(5)));
        await armed.DefaultTimeout();
        await headersSent.Task.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(5));

        var thrown = await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_StatusArrivesAfterLocalDeadline_ReportsDeadlineExceeded()
    {
        var time = new FakeTimeProvider();
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.StartResponseAsync(context);
            headersSent.SetResult();
            await release.Task;
            Wire.SetTrailers(context, 5, "not found");
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        var armed = time.WaitForTimerArmedAsync();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddSeconds(1)));
        await armed.DefaultTimeout();
        await headersSent.Task.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(1));
        release.SetResult();

        var thrown = await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task Unary_DeadlineAlreadyPassed_FailsWithoutSending()
    {
        var handler = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { HttpHandler = handler });

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(-1)));

        (await call.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        handler.Requests.Should().Be(0);
    }

    [Fact]
    public async Task ServerStreaming_DeadlineAlreadyPassed_FailsOnReadWithoutSending()
    {
        var handler = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { HttpHandler = handler });

        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), new CallOptions(Deadline: DateTime.UtcNow));
        var read = () => ReadAllAsync(call);

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        handler.Requests.Should().Be(0);
        call.GetStatus().Code.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task Unary_Deadline_SendsTimeLeftAsGrpcTimeout()
    {
        var time = new FakeTimeProvider();
        string? timeout = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            timeout = context.Request.Headers["grpc-timeout"];
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });

        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddSeconds(5))).DefaultTimeout();

        timeout.Should().Be("5000000u");
        time.ArmedTimerCount.Should().Be(0, "the deadline timer is disposed when the call ends");
    }

    [Fact]
    public async Task Unary_NoDeadline_SendsNoGrpcTimeoutAndArmsNoTimer()
    {
        var time = new FakeTimeProvider();
        bool? hadTimeout = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            hadTimeout = context.Request.Headers.ContainsKey("grpc-timeout");
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });

        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: DateTime.MaxValue)).DefaultTimeout();

        hadTimeout.Should().BeFalse();
        time.ArmedTimerCount.Should().Be(0);
    }

    [Fact]
    public async Task ServerStreaming_DeadlineMidStream_ThrowsDeadlineExceededAfterMessages()
    {
        var time = new FakeTimeProvider();
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var aborted = Wire.AbortedAsync(context);
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, TestMethods.Message("first"));
            await aborted;
            serverAborted.SetResult();
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        var armed = time.WaitForTimerArmedAsync();
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddMinutes(1)));
        await armed.DefaultTimeout();
        await using var reader = call.ReadAllAsync().GetAsyncEnumerator();

        (await reader.MoveNextAsync().DefaultTimeout()).Should().BeTrue();
        reader.Current.Service.Should().Be("first");
        var next = reader.MoveNextAsync().AsTask();
        time.Advance(TimeSpan.FromMinutes(1));

        (await next.Awaiting(t => t).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        call.GetStatus().Code.Should().Be(StatusCode.DeadlineExceeded);
        await serverAborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_DeadlineBeyondTimerRange_FiresOnlyAtDeadline()
    {
        var time = new FakeTimeProvider();
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serverAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(context => Wire.HeadersThenAwaitAbortAsync(context, headersSent, serverAborted, readRequest: false));
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        var armed = time.WaitForTimerArmedAsync();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddDays(60)));
        await armed.DefaultTimeout();
        await headersSent.Task.DefaultTimeout();

        // A system timer waits at most ~49.7 days: the first firing re-arms for the rest.
        var rearmed = time.WaitForTimerArmedAsync();
        time.Advance(TimeSpan.FromDays(59));
        await rearmed.DefaultTimeout();
        call.IsCompleted.Should().BeFalse();
        time.Advance(TimeSpan.FromDays(1));

        (await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
        await serverAborted.Task.DefaultTimeout();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ServerStreaming_CancelledByServerAfterDeadlinePassed_ReportsDeadlineExceeded(bool reset)
    {
        // Time passes the deadline but the local timer has not fired yet (it never does here).
        var time = new LateTimersTimeProvider();
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.StartResponseAsync(context);
            headersSent.SetResult();
            await release.Task;
            if (reset)
            {
                Wire.Reset(context, 0x8);
            }
            else
            {
                Wire.SetTrailers(context, 1, "cancelled by server");
            }
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddSeconds(1)));
        await headersSent.Task.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(2));
        release.SetResult();

        var read = () => ReadAllAsync(call);

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task ServerStreaming_CancelledByServerBeforeDeadline_ReportsCancelled()
    {
        var time = new LateTimersTimeProvider();
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            Wire.SetTrailersOnly(context, "1");
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { TimeProvider = time });
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), new CallOptions(Deadline: time.GetUtcNow().UtcDateTime.AddSeconds(1)));

        var read = () => ReadAllAsync(call);

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
    }

    private static async Task ReadAllAsync<T>(AsyncServerStreamingCall<T> call)
    {
        await foreach (var unused in call.ReadAllAsync())
        {
        }
    }

    /// <summary>Controlled time whose timers never fire, as if the timer thread were late.</summary>
    private sealed class LateTimersTimeProvider : TimeProvider
    {
        private readonly FakeTimeProvider _time = new();

        public override long TimestampFrequency => _time.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => _time.GetUtcNow();

        public override long GetTimestamp() => _time.GetTimestamp();

        public void Advance(TimeSpan delta) => _time.Advance(delta);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverTimer();

        private sealed class NeverTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    private sealed class RecordingHandler : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            throw new InvalidOperationException("Nothing should be sent.");
        }
    }
}
