using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using LeaseService.Rpc.Client.Internal;

namespace LeaseService.Rpc.Tests.Client;

/// <summary>The pure status rules: HTTP table, RST_STREAM codes, exceptions, grpc-status parsing.</summary>
public sealed class StatusMappingTests
{
    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(431, StatusCode.Internal)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(200, StatusCode.Unknown)]
    [InlineData(418, StatusCode.Unknown)]
    [InlineData(500, StatusCode.Unknown)]
    public void FromHttpStatus_FollowsMappingTable(int httpStatus, StatusCode expected)
        => ResponseStatus.FromHttpStatus(httpStatus).Code.Should().Be(expected);

    [Theory]
    [InlineData(0x0, StatusCode.Internal)]
    [InlineData(0x1, StatusCode.Internal)]
    [InlineData(0x2, StatusCode.Internal)]
    [InlineData(0x3, StatusCode.Internal)]
    [InlineData(0x5, StatusCode.Internal)]
    [InlineData(0x7, StatusCode.Unavailable)]
    [InlineData(0x8, StatusCode.Cancelled)]
    [InlineData(0xB, StatusCode.ResourceExhausted)]
    [InlineData(0xC, StatusCode.PermissionDenied)]
    [InlineData(0xD, StatusCode.Internal)]
    public void FromHttp2ErrorCode_FollowsRstStreamTable(long errorCode, StatusCode expected)
        => ResponseStatus.FromHttp2ErrorCode(errorCode).Should().Be(expected);

    [Fact]
    public void FromException_ProtocolExceptionDeepInChain_UsesItsErrorCode()
    {
        var protocol = CreateProtocolException(0x7);
        var exception = new HttpRequestException("outer", new IOException("middle", protocol));

        ResponseStatus.FromException(exception).Code.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public void FromException_SocketExceptionInChain_IsUnavailable()
    {
        var exception = new HttpRequestException("connect failed", new SocketException((int)SocketError.ConnectionRefused));

        ResponseStatus.FromException(exception).Code.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public void FromException_IOException_IsUnavailable()
        => ResponseStatus.FromException(new IOException("connection reset")).Code.Should().Be(StatusCode.Unavailable);

    [Fact]
    public void FromException_ParseError_IsInternal()
    {
        var parse = () => LeaseService.Rpc.Health.V1.HealthCheckRequest.Parser.ParseFrom([0x0A, 0x05, 0x61]);
        var exception = parse.Should().Throw<InvalidProtocolBufferException>().Which;

        ResponseStatus.FromException(exception).Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public void FromException_Unexpected_IsInternal()
        => ResponseStatus.FromException(new InvalidOperationException("boom")).Code.Should().Be(StatusCode.Internal);

    [Fact]
    public void FromException_ConnectTimeout_IsUnavailable()
        => ResponseStatus.FromException(new TaskCanceledException("connect", new TimeoutException())).Code.Should().Be(StatusCode.Unavailable);

    [Fact]
    public void FromException_RpcException_KeepsItsStatus()
    {
        var status = new Status(StatusCode.ResourceExhausted, "too big");

        ResponseStatus.FromException(new RpcException(status)).Should().Be(status);
    }

    [Theory]
    [InlineData("0", StatusCode.OK)]
    [InlineData("5", StatusCode.NotFound)]
    [InlineData("16", StatusCode.Unauthenticated)]
    [InlineData("17", StatusCode.Unknown)]
    [InlineData("x", StatusCode.Unknown)]
    [InlineData(" 5", StatusCode.Unknown)]
    [InlineData("+5", StatusCode.Unknown)]
    public void TryGetGrpcStatus_ParsesOnlyCodesZeroToSixteen(string value, StatusCode expected)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        response.TrailingHeaders.TryAddWithoutValidation("grpc-status", value);

        ResponseStatus.TryGetGrpcStatus(response.TrailingHeaders, out var status).Should().BeTrue();

        status.Code.Should().Be(expected);
    }

    [Fact]
    public void TryGetGrpcStatus_NoStatus_ReturnsFalse()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);

        ResponseStatus.TryGetGrpcStatus(response.TrailingHeaders, out _).Should().BeFalse();
        ResponseStatus.FromTrailers(response).Code.Should().Be(StatusCode.Unknown);
    }

    [Fact]
    public void FromResponseHeaders_Http11Response_IsInternal()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version11 };
        response.Content = new ByteArrayContent([]);
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");

        ResponseStatus.FromResponseHeaders(response, out _)!.Value.Code.Should().Be(StatusCode.Internal);
    }

    [Theory]
    [InlineData("application/grpc")]
    [InlineData("application/grpc+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    [InlineData("APPLICATION/GRPC")]
    public void FromResponseHeaders_GrpcContentType_ReadsBody(string contentType)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20 };
        response.Content = new ByteArrayContent([]);
        response.Content.Headers.TryAddWithoutValidation("content-type", contentType);

        ResponseStatus.FromResponseHeaders(response, out _).Should().BeNull();
    }

    [Fact]
    public void FromResponseHeaders_GrpcWebContentType_IsUnknown()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20 };
        response.Content = new ByteArrayContent([]);
        response.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc-web");

        ResponseStatus.FromResponseHeaders(response, out _)!.Value.Code.Should().Be(StatusCode.Unknown);
    }

    private static HttpProtocolException CreateProtocolException(long errorCode) => new(errorCode, "reset", null);
}
