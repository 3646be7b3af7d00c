using System.Net;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>Requests that are not gRPC, or name no method: rejected before any handler runs.</summary>
public sealed class RequestValidationTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    [InlineData(null)]
    public async Task NonGrpcContentType_Returns415WithGrpcStatus13(string? contentType)
    {
        using var request = GrpcTestClient.CreateRequest("/test.v1.Test/Gate", new ByteArrayContent(GrpcTestClient.Frame(new StringValue())), contentType);

        var result = await _server.Client.SendAsync(request).DefaultTimeout();

        result.HttpStatus.Should().Be(HttpStatusCode.UnsupportedMediaType);
        result.Headers.GetValues("grpc-status").Should().Equal("13");
        result.Message.Should().Contain("is not supported");
        _server.Service.GateEntered.Task.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task Get_Returns405WithAllowPost()
    {
        using var request = GrpcTestClient.CreateRequest("/test.v1.Test/Echo", null, method: HttpMethod.Get);

        var result = await _server.Client.SendAsync(request).DefaultTimeout();

        result.HttpStatus.Should().Be(HttpStatusCode.MethodNotAllowed);
        result.ContentHeaders.Allow.Should().Equal("POST");
        result.Headers.GetValues("grpc-status").Should().Equal("13");
    }

    [Theory]
    [InlineData("/test.v1.Test/Nope")]
    [InlineData("/no.such.Service/Echo")]
    [InlineData("/test.v1.test/echo")]
    [InlineData("/")]
    public async Task UnknownServiceOrMethod_IsTrailersOnlyUnimplemented(string path)
    {
        var result = await _server.Client.UnaryAsync(path, new StringValue { Value = "x" }).DefaultTimeout();

        result.HttpStatus.Should().Be(HttpStatusCode.OK);
        result.TrailersOnly.Should().BeTrue();
        result.Status.Should().Be(StatusCode.Unimplemented);
        result.Message.Should().Be("Method not found: " + path);
        result.ContentHeaders.ContentType!.MediaType.Should().Be("application/grpc");
    }

    [Fact]
    public async Task UnknownMethod_AnswersWithoutReadingTheBody()
    {
        var content = new ChunkedContent([[0, 0, 0, 0, 10]], holdOpen: true);
        try
        {
            var result = await _server.Client.SendAsync("/test.v1.Test/Nope", content).DefaultTimeout();

            result.Status.Should().Be(StatusCode.Unimplemented);
        }
        finally
        {
            content.Release();
        }
    }
}
