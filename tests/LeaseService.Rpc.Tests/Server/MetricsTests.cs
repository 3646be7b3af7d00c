using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.AspNetCore;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>
/// rpc.server.calls and rpc.server.call.duration, recorded once per call with the status the
/// client received, and the per-call Debug event. Time is a fake clock, so durations are exact.
/// </summary>
public sealed class MetricsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, string Service, string Method, string Status, double Value)> _measurements = new();
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestGrpcServer.StartAsync(_time);
        var scope = _server.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == GrpcWireExtensions.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public async Task DisposeAsync()
    {
        _listener.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Ok_CountedOnceWithServiceMethodAndStatus_AndItsDuration()
    {
        (await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "x" }).DefaultTimeout()).Status.Should().Be(StatusCode.OK);

        _measurements.Should().BeEquivalentTo(new[]
        {
            ("rpc.server.calls", "test.v1.Test", "Echo", "OK", 1.0),
            ("rpc.server.call.duration", "test.v1.Test", "Echo", "OK", 0.0),
        });
    }

    [Theory]
    [InlineData("Fail", "FailedPrecondition")]
    [InlineData("Throw", "Unknown")]
    public async Task HandlerErrors_CountedWithTheStatusSent(string method, string status)
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/" + method, new StringValue { Value = "x" }).DefaultTimeout();

        result.Status.ToString().Should().Be(status);
        Calls().Should().Equal(("test.v1.Test", method, status));
    }

    [Fact]
    public async Task UnknownMethod_CountedUnderUnknown_NotUnderTheClientsPath()
    {
        (await _server.Client.UnaryAsync("/evil.Service/" + Guid.NewGuid(), new StringValue()).DefaultTimeout()).Status.Should().Be(StatusCode.Unimplemented);

        Calls().Should().Equal(("(unknown)", "(unknown)", "Unimplemented"));
    }

    [Fact]
    public async Task Deadline_CountedOnceAsDeadlineExceeded_WithTheTimeItTook()
    {
        var call = _server.Client.UnaryAsync("/test.v1.Test/Slow", new StringValue { Value = "x" }, r => r.Headers.TryAddWithoutValidation("grpc-timeout", "1S"));
        await _server.Service.SlowStarted.Task.DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(1));

        (await call.DefaultTimeout()).Status.Should().Be(StatusCode.DeadlineExceeded);
        await _server.Service.SlowCancelled.Task.DefaultTimeout();

        Calls().Should().Equal(("test.v1.Test", "Slow", "DeadlineExceeded"));
        _measurements.Single(m => m.Instrument == "rpc.server.call.duration").Value.Should().Be(1.0);
    }

    [Fact]
    public async Task ServerStreaming_CountedWhenTheStreamEnds()
    {
        using var call = await _server.Client.StartStreamingAsync("/test.v1.Test/Count", new Int32Value { Value = 3 }).DefaultTimeout();
        for (var i = 0; i < 3; i++)
        {
            (await call.ReadAsync(Int32Value.Parser).DefaultTimeout()).Should().NotBeNull();
        }

        (await call.ReadToEndAsync().DefaultTimeout()).Status.Should().Be(StatusCode.OK);

        Calls().Should().Equal(("test.v1.Test", "Count", "OK"));
    }

    [Fact]
    public async Task EveryCall_LogsOneDebugEventWithMethodStatusDurationAndPeer()
    {
        await _server.Client.UnaryAsync("/test.v1.Test/Fail", new StringValue { Value = "nope" }).DefaultTimeout();

        var finished = _server.Logs.Entries.Where(e => e.EventId.Id == 30).Should().ContainSingle().Subject;
        finished.Level.Should().Be(LogLevel.Debug);
        finished.Message.Should().Be("/test.v1.Test/Fail finished with FailedPrecondition in 0 ms for ipv4:127.0.0.1:" + finished.Message.Split(':')[^1]);
    }

    private List<(string Service, string Method, string Status)> Calls()
        => [.. _measurements.Where(m => m.Instrument == "rpc.server.calls").Select(m => (m.Service, m.Method, m.Status))];

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string Tag(ReadOnlySpan<KeyValuePair<string, object?>> all, string key)
        {
            foreach (var tag in all)
            {
                if (tag.Key == key)
                {
                    return (string)tag.Value!;
                }
            }

            return "";
        }

        _measurements.Enqueue((instrument.Name, Tag(tags, "service"), Tag(tags, "method"), Tag(tags, "status"), value));
    }
}
