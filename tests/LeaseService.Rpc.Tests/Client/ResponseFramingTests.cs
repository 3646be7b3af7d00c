using LeaseService.Rpc.Client;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;
using Microsoft.AspNetCore.Http;

namespace LeaseService.Rpc.Tests.Client;

/// <summary>Raw response bodies: size limits, truncation, flags, garbage.</summary>
public sealed class ResponseFramingTests
{
    private const int Limit = 1024;

    [Fact]
    public async Task Unary_MessageOverLimit_ThrowsResourceExhaustedAndResetsStream()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var abortedTask = Wire.AbortedAsync(context);
            await Wire.ReadRequestBodyAsync(context);

            // Announce more than the limit, send only a little: the client must not wait for the rest.
            await Wire.WriteAsync(context, Wire.Header(Limit + 1));
            await Wire.WriteAsync(context, new byte[10]);
            await abortedTask;
            aborted.SetResult();
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = Limit });

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        (await call.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.ResourceExhausted);
        await aborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task Unary_HugeDeclaredLength_ThrowsResourceExhaustedWithoutAllocating()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteAsync(context, Wire.Header(uint.MaxValue));
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.ResourceExhausted);
    }

    [Fact]
    public async Task Unary_MessageExactlyAtLimit_Succeeds()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var payload = new byte[Limit];
            payload[0] = 0x0A; // field 1, length-delimited
            payload[1] = 0xFD; // varint 1021 = 0xFD 0x07
            payload[2] = 0x07;
            payload.AsSpan(3).Fill((byte)'a');
            await Wire.WriteAsync(context, [.. Wire.Header(Limit), .. payload]);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = Limit });

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        response.Service.Should().HaveLength(Limit - 3);
    }

    [Fact]
    public async Task Unary_BodyEndsInsidePayload_ThrowsInternal()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteAsync(context, Wire.Header(100));
            await Wire.WriteAsync(context, new byte[50]);
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task Unary_BodyEndsInsideHeader_ThrowsInternal()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteAsync(context, [0, 0, 0]);
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task Unary_CompressedFlagWithoutEncoding_ThrowsInternal()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteAsync(context, Wire.Header(0, flag: 1));
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task Unary_CompressedFlagWithUnsupportedEncoding_ThrowsUnimplemented()
    {
        var status = await CallAsync(async context =>
        {
            context.Response.Headers["grpc-encoding"] = "snappy";
            await Wire.WriteAsync(context, Wire.Header(0, flag: 1));
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Unimplemented);
    }

    [Fact]
    public async Task Unary_FlagTwo_ThrowsInternal()
    {
        var status = await CallAsync(async context =>
        {
            await Wire.WriteAsync(context, Wire.Header(0, flag: 2));
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    [Fact]
    public async Task Unary_GarbagePayload_ThrowsInternal()
    {
        var status = await CallAsync(async context =>
        {
            // Field 1, length 5, but only one byte of string follows.
            await Wire.WriteAsync(context, [.. Wire.Header(3), 0x0A, 0x05, 0x61]);
            Wire.SetTrailers(context, 0);
        });

        status.Code.Should().Be(StatusCode.Internal);
    }

    private static async Task<Status> CallAsync(RequestDelegate handler)
    {
        await using var server = await FakeGrpcServer.StartAsync(handler);
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxReceiveMessageSize = Limit });

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        return (await call.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.Status;
    }
}
