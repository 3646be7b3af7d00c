using LeaseService.Rpc.Client;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;
using Microsoft.AspNetCore.Http;

namespace LeaseService.Rpc.Tests.Client;

/// <summary>How the client reads a status from what a server sent (spec digest §3.3, checklist 39–43).</summary>
public sealed class ResponseStatusTests
{
    [Fact]
    public async Task Unary_TrailersOnlyNotFound_ThrowsNotFoundWithDecodedMessage()
    {
        var status = await CallAsync(context =>
        {
            Wire.SetTrailersOnly(context, "5", "50%25 done %E2%9C%93%0A, not/there");
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.NotFound);
        status.Detail.Should().Be("50% done ✓\n, not/there");
    }

    [Fact]
    public async Task Unary_BrokenPercentEscape_KeepsTextAsIs()
    {
        var status = await CallAsync(context =>
        {
            Wire.SetTrailersOnly(context, "3", "bad %ZZ escape %4");
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.InvalidArgument);
        status.Detail.Should().Be("bad %ZZ escape %4");
    }

    [Theory]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(418, StatusCode.Unknown)]
    public async Task Unary_HttpErrorWithoutGrpcStatus_MapsHttpStatus(int httpStatus, StatusCode expected)
    {
        var status = await CallAsync(context =>
        {
            context.Response.StatusCode = httpStatus;
            return Task.CompletedTask;
        });

        status.Code.Should().Be(expected);
        status.Detail.Should().Contain(httpStatus.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Unary_HttpErrorWithHtmlBody_MapsHttpStatus()
    {
        var status = await CallAsync(async context =>
        {
            context.Response.StatusCode = 502;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync("<html>bad gateway</html>");
        });

        status.Code.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public async Task Unary_Http500WithGrpcStatus_GrpcStatusWins()
    {
        var status = await CallAsync(context =>
        {
            Wire.SetTrailersOnly(context, "5", "gone", httpStatus: 500);
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.NotFound);
        status.Detail.Should().Be("gone");
    }

    [Fact]
    public async Task Unary_MessageButNoGrpcStatus_ThrowsUnknown()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, TestMethods.Message("orphan"));
        });

        status.Code.Should().Be(StatusCode.Unknown);
    }

    [Fact]
    public async Task Unary_TrailersOnlyOk_ThrowsCardinalityViolation()
    {
        var status = await CallAsync(context =>
        {
            Wire.SetTrailersOnly(context, "0");
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task Unary_OkTrailersWithoutMessage_ThrowsCardinalityViolation()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task Unary_TwoMessages_ThrowsCardinalityViolation()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteMessageAsync(context, TestMethods.Message("one"));
            await Wire.WriteMessageAsync(context, TestMethods.Message("two"));
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task Unary_ErrorStatusInTrailersAfterHeaders_ThrowsThatStatus()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            Wire.SetTrailers(context, 9, "held by someone else");
        });

        status.Code.Should().Be(StatusCode.FailedPrecondition);
        status.Detail.Should().Be("held by someone else");
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("17")]
    [InlineData("-1")]
    [InlineData("")]
    public async Task Unary_InvalidGrpcStatus_ThrowsUnknown(string value)
    {
        var status = await CallAsync(context =>
        {
            Wire.SetTrailersOnly(context, value);
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.Unknown);
    }

    [Fact]
    public async Task Unary_NonGrpcContentType_ThrowsUnknownNamingIt()
    {
        var status = await CallAsync(async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{}");
        });

        status.Code.Should().Be(StatusCode.Unknown);
        status.Detail.Should().Contain("application/json");
    }

    [Fact]
    public async Task Unary_ServerResetsWithCancel_ThrowsCancelled()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            Wire.Reset(context, 0x8);
        });

        status.Code.Should().Be(StatusCode.Cancelled);
    }

    [Theory]
    [InlineData(0x0)] // NO_ERROR before any status.
    [InlineData(0x2)] // INTERNAL_ERROR
    public async Task Unary_ServerResetsBeforeStatus_ThrowsInternal(int errorCode)
    {
        var status = await CallAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            Wire.Reset(context, errorCode);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task Unary_ServerResetsWithEnhanceYourCalm_ThrowsResourceExhausted()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            Wire.Reset(context, 0xB);
        });

        status.Code.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task Unary_ServerResetsBeforeHeaders_ThrowsMappedStatus()
    {
        var status = await CallAsync(context =>
        {
            Wire.Reset(context, 0x8);
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.Cancelled);
    }

    [Fact]
    public async Task Unary_ServerRefusesStream_ThrowsUnavailable()
    {
        var status = await CallAsync(context =>
        {
            Wire.Reset(context, 0x7);
            return Task.CompletedTask;
        });

        status.Code.Should().Be(StatusCode.Unavailable);
    }

    private static async Task<Status> CallAsync(RequestDelegate handler)
    {
        await using var server = await FakeGrpcServer.StartAsync(handler);
        using var channel = server.CreateChannel();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        var thrown = await call.Should().ThrowAsync<RpcException>().DefaultTimeout();
        return thrown.Which.Status;
    }
}
