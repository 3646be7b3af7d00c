using System.Collections.Concurrent;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;

namespace LeaseService.Server.Tests.Logging;

/// <summary>
/// The shipped levels (appsettings.json, default Information) of the real server, over real HTTP/2:
/// what an operator's console gets from calls that fail as expected.
/// </summary>
public sealed class ServerLogLevelTests
{
    private const string GrpcServerCategory = "Grpc.AspNetCore.Server";

    // Grpc.AspNetCore logs every call that ends with an error status ("Error status code
    // 'NotFound' with detail '…' raised") and every call to an unknown method or service ("Method
    // 'X' is unimplemented") at Information: a line per failed call, with the caller's path or
    // holder, or a made-up method name, in it. The interceptor's Debug event 30 already says it.
    [Fact]
    public async Task ExpectedFailures_AtTheDefaultLevel_LogNothingPerCall_FromGrpcAspNetCore()
    {
        var (server, events) = await StartCapturingAsync();
        await using (server)
        {
            await server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();
            await server.Client.Invoking(c => c.RenewLeaseAsync("nobody")).Should().ThrowAsync<LeaseNotFoundException>();
            await server.Client.Invoking(c => c.GetLeaseAsync("/logs/none")).Should().ThrowAsync<LeaseNotFoundException>();
            using var raw = new RawGrpc(server.Address);
            (await raw.SendAsync("/leases.v1.LeaseService/Made-up-" + new string('x', 300), RawGrpc.Frame(new GetLeaseRequest { Path = "/a" })).DefaultTimeout()).GrpcStatus.Should().Be("12");
            (await raw.SendAsync("/made.up.Service/GetLease", RawGrpc.Frame(new GetLeaseRequest { Path = "/a" })).DefaultTimeout()).GrpcStatus.Should().Be("12");
        }

        events.Should().Contain(e => e.Level == LogEventLevel.Information && Id(e) == 1001, "lease transitions stay Information: the capture works");
        events.Where(e => Source(e).StartsWith(GrpcServerCategory, StringComparison.Ordinal))
            .Select(e => $"{e.Level} {Source(e)}: {e.RenderMessage()}")
            .Should().BeEmpty("an expected failure is a status for the caller, not an event for the operator");
    }

    [Fact]
    public async Task GrpcAspNetCoreOverride_AtDebug_ShowsWhyACallFailed()
    {
        var (server, events) = await StartCapturingAsync($"--Serilog:MinimumLevel:Override:{GrpcServerCategory}=Debug");
        await using (server)
        {
            await server.Client.Invoking(c => c.RenewLeaseAsync("nobody")).Should().ThrowAsync<LeaseNotFoundException>();
        }

        events.Should().Contain(e => Source(e).StartsWith(GrpcServerCategory, StringComparison.Ordinal) && e.RenderMessage().Contains("NotFound", StringComparison.Ordinal),
            "docs/OPERATIONS.md, Logs: the override shows why a request was refused");
    }

    /// <summary>The real server at the shipped default level, with a second Serilog sink (configured like any other) capturing its events.</summary>
    private static async Task<(ServerFixture Server, ConcurrentQueue<LogEvent> Events)> StartCapturingAsync(params string[] settings)
    {
        var key = Guid.NewGuid().ToString("N");
        var server = await ServerFixture.StartAsync(
        [
            "--Serilog:MinimumLevel:Default=Information",
            "--Serilog:Using:1=" + typeof(CaptureSinkExtensions).Assembly.GetName().Name,
            "--Serilog:WriteTo:1:Name=" + nameof(CaptureSinkExtensions.Capture),
            "--Serilog:WriteTo:1:Args:key=" + key,
            .. settings,
        ]);
        return (server, CaptureSinkExtensions.Events(key));
    }

    private static string Source(LogEvent e) => e.Properties.TryGetValue("SourceContext", out var value) && value is ScalarValue { Value: string s } ? s : string.Empty;

    private static int Id(LogEvent e) => e.Properties.TryGetValue("EventId", out var value) && value is StructureValue id
        && id.Properties.FirstOrDefault(p => p.Name == "Id")?.Value is ScalarValue { Value: int number } ? number : 0;
}

/// <summary>A Serilog sink the <c>Serilog:WriteTo</c> section can name (<c>Capture</c>, argument <c>key</c>): events kept per key.</summary>
public static class CaptureSinkExtensions
{
    private static readonly ConcurrentDictionary<string, ConcurrentQueue<LogEvent>> Captured = new(StringComparer.Ordinal);

    public static LoggerConfiguration Capture(this LoggerSinkConfiguration sinks, string key)
        => sinks.Sink(new QueueSink(Events(key)));

    public static ConcurrentQueue<LogEvent> Events(string key) => Captured.GetOrAdd(key, static _ => new ConcurrentQueue<LogEvent>());

    private sealed class QueueSink(ConcurrentQueue<LogEvent> events) : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => events.Enqueue(logEvent);
    }
}
