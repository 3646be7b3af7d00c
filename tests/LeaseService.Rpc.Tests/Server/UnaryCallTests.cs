using System.Net;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.Tests.Server;

public sealed class UnaryCallTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("Echo")]
    [InlineData("AsyncEcho")]
    public async Task Unary_ValidMessage_ReturnsMessageAndOkInTrailers(string method)
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/" + method, new StringValue { Value = "hello" }).DefaultTimeout();

        result.HttpStatus.Should().Be(HttpStatusCode.OK);
        result.ContentHeaders.ContentType!.MediaType.Should().Be("application/grpc");
        result.OnlyMessage(StringValue.Parser).Value.Should().Be("hello");
        result.TrailersOnly.Should().BeFalse();
        result.Trailers.GetValues("grpc-status").Should().Equal("0");
        result.Headers.Contains("server").Should().BeFalse("AddServerHeader is off");
    }

    [Fact]
    public async Task Unary_CustomTrailerSetByHandler_IsSentWithTheStatus()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "x" }).DefaultTimeout();

        result.Trailers.GetValues("x-echo-trailer").Should().Equal("yes");
    }

    [Fact]
    public async Task Unary_EmptyMessage_IsParsedAsDefault()
    {
        var result = await _server.Client.SendAsync("/test.v1.Test/Echo", new ByteArrayContent([0, 0, 0, 0, 0])).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
        result.OnlyMessage(StringValue.Parser).Value.Should().BeEmpty();
    }

    [Theory]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    [InlineData("APPLICATION/GRPC")]
    public async Task Unary_GrpcContentTypeVariants_AreAccepted(string contentType)
    {
        using var request = GrpcTestClient.CreateRequest("/test.v1.Test/Echo", new ByteArrayContent(GrpcTestClient.Frame(new StringValue { Value = "v" })), contentType);

        var result = await _server.Client.SendAsync(request).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task Unary_WithoutTe_IsStillServed()
    {
        using var request = GrpcTestClient.CreateRequest("/test.v1.Test/Echo", new ByteArrayContent(GrpcTestClient.Frame(new StringValue { Value = "v" })));
        request.Headers.Remove("te");

        var result = await _server.Client.SendAsync(request).DefaultTimeout();

        result.Status.Should().Be(StatusCode.OK);
    }

    [Fact]
    public async Task Unary_RpcException_IsTrailersOnlyWithCodeMessageAndCustomTrailers()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Fail", new StringValue { Value = "lease is held" }).DefaultTimeout();

        result.HttpStatus.Should().Be(HttpStatusCode.OK);
        result.TrailersOnly.Should().BeTrue();
        result.Messages.Should().BeEmpty();
        result.ContentHeaders.ContentType!.MediaType.Should().Be("application/grpc");
        result.Headers.GetValues("grpc-status").Should().ContainSingle().Which.Should().Be("9", "the handler's own grpc-status trailer is overridden");
        result.Message.Should().Be("lease is held");
        result.Headers.GetValues("x-fail-trailer").Should().Equal("custom");
    }

    [Fact]
    public async Task Unary_ErrorMessage_IsPercentEncoded()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Fail", new StringValue { Value = "50% done ✓\n" }).DefaultTimeout();

        result.RawMessage.Should().Be("50%25 done %E2%9C%93%0A");
        result.Message.Should().Be("50% done ✓\n");
    }

    [Fact]
    public async Task Unary_ErrorMessageWithPunctuation_IsNotOverEncoded()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Fail", new StringValue { Value = "a, b/c: d" }).DefaultTimeout();

        result.RawMessage.Should().Be("a, b/c: d");
    }

    [Fact]
    public async Task Unary_HandlerThrows_UnknownWithoutInternalsAndServerKeepsServing()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Throw", new StringValue { Value = "x" }).DefaultTimeout();

        result.Status.Should().Be(StatusCode.Unknown);
        result.Message.Should().Be("Exception was thrown by handler.");
        var everything = string.Join("\n", result.Headers.Concat(result.Trailers).SelectMany(h => h.Value));
        everything.Should().NotContain("secret").And.NotContain("InvalidOperationException");
        _server.Logs.Entries.Should().Contain(e => e.Level == LogLevel.Error && e.Exception is InvalidOperationException && e.Message.Contains("/test.v1.Test/Throw"));

        var next = await _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "still up" }).DefaultTimeout();
        next.OnlyMessage(StringValue.Parser).Value.Should().Be("still up");
    }

    [Fact]
    public async Task Unary_ManyConcurrentCalls_AllSucceed()
    {
        var calls = Enumerable.Range(0, 200)
            .Select(i => _server.Client.UnaryAsync("/test.v1.Test/Echo", new StringValue { Value = "m" + i }))
            .ToArray();

        var results = await Task.WhenAll(calls).DefaultTimeout();

        results.Select(r => r.OnlyMessage(StringValue.Parser).Value).Should().Equal(Enumerable.Range(0, 200).Select(i => "m" + i));
    }

    [Fact]
    public async Task Metadata_HandlerSeesCustomHeadersButNotReservedOnes()
    {
        var result = await _server.Client.UnaryAsync("/test.v1.Test/Metadata", new Empty(), r =>
        {
            r.Headers.TryAddWithoutValidation("x-id", "abc");
            r.Headers.TryAddWithoutValidation("grpc-timeout", "10S");
            r.Headers.TryAddWithoutValidation("x-data-bin", "AQI");
        }).DefaultTimeout();

        var parts = result.OnlyMessage(StringValue.Parser).Value.Split('|');
        var headers = parts[0].Split(',');
        headers.Should().Contain("x-id=abc").And.Contain("x-data-bin=AQI");
        headers.Should().NotContain(h => h.StartsWith("te=", StringComparison.Ordinal)
            || h.StartsWith("content-type=", StringComparison.OrdinalIgnoreCase)
            || h.StartsWith("grpc-timeout=", StringComparison.Ordinal)
            || h.StartsWith(':'));
        parts[1].Should().Be("/test.v1.Test/Metadata");
        parts[2].Should().MatchRegex(@"^ipv4:127\.0\.0\.1:\d+$");
    }
}
