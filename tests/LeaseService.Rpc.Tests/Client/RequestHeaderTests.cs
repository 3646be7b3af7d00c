using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;
using Microsoft.AspNetCore.Http;

namespace LeaseService.Rpc.Tests.Client;

public sealed class RequestHeaderTests
{
    [Fact]
    public async Task Unary_SendsGrpcRequestHeaders()
    {
        IHeaderDictionary? seen = null;
        string? protocol = null;
        string? method = null;
        string? path = null;
        long? contentLength = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            seen = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
            protocol = context.Request.Protocol;
            method = context.Request.Method;
            path = context.Request.Path;
            contentLength = context.Request.ContentLength;
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { UserAgent = "lease-tests/1.0" });
        CallOptions options = new(
            Deadline: DateTime.UtcNow.AddSeconds(30),
            Headers: [new("x-id", "abc"), new("x-trace-bin", "AQI")]);

        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("hello"), options).DefaultTimeout();

        protocol.Should().Be("HTTP/2");
        method.Should().Be("POST");
        path.Should().Be("/test.v1.Echo/Unary");
        contentLength.Should().Be(Wire.Frame(TestMethods.Message("hello")).Length);
        seen!["te"].ToString().Should().Be("trailers");
        seen["content-type"].ToString().Should().Be("application/grpc");
        seen["user-agent"].ToString().Should().Be("lease-tests/1.0");
        seen["grpc-accept-encoding"].ToString().Should().Be("identity");
        seen["grpc-timeout"].ToString().Should().MatchRegex("^[0-9]{1,8}[HMSmun]$");
        seen["x-id"].ToString().Should().Be("abc");
        seen["x-trace-bin"].ToString().Should().Be("AQI");
        seen.ContainsKey("grpc-encoding").Should().BeFalse();
    }

    [Fact]
    public async Task Unary_NoUserAgentOption_SendsDefaultUserAgent()
    {
        string? userAgent = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            userAgent = context.Request.Headers.UserAgent;
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        userAgent.Should().StartWith("grpc-dotnet-leaseservice/");
    }

    [Theory]
    [InlineData("te")]
    [InlineData("content-type")]
    [InlineData("Content-Type")]
    [InlineData("user-agent")]
    [InlineData("grpc-timeout")]
    [InlineData("grpc-status")]
    [InlineData("grpc-anything")]
    [InlineData(":path")]
    [InlineData("host")]
    [InlineData("connection")]
    [InlineData("bad name")]
    [InlineData("")]
    public void Call_ReservedOrInvalidHeaderName_ThrowsArgumentExceptionBeforeSending(string name)
    {
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
        var options = new CallOptions(Headers: [new(name, "v")]);

        Action unary = () => _ = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), options);
        var streaming = () => channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"), options);

        unary.Should().Throw<ArgumentException>();
        streaming.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("line\nbreak")]
    [InlineData("caf\u00e9")]
    public void Call_NonPrintableHeaderValue_ThrowsArgumentException(string value)
    {
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1");

        Action unary = () => _ = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Headers: [new("x-id", value)]));

        unary.Should().Throw<ArgumentException>();
    }
}
