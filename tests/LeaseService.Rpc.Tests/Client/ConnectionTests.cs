using System.Net;
using System.Net.Sockets;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LeaseService.Rpc.Tests.Client;

public sealed class ConnectionTests
{
    [Fact]
    public async Task Unary_ConnectionRefused_ThrowsUnavailable()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ClosedPort()}");

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        var thrown = await call.Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.StatusCode.Should().Be(StatusCode.Unavailable);
        thrown.Which.InnerException.Should().NotBeNull();
    }

    [Fact]
    public async Task ServerStreaming_ConnectionRefused_ThrowsUnavailableOnRead()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ClosedPort()}");
        using var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));

        var read = async () =>
        {
            await foreach (var unused in call.ReadAllAsync())
            {
            }
        };

        (await read.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Unavailable);
        call.GetStatus().Code.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public async Task Unary_ConnectionLostMidCall_ThrowsUnavailable()
    {
        var headersSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.StartResponseAsync(context);
            headersSent.SetResult();
            await Wire.AbortedAsync(context);
        });
        using var channel = server.CreateChannel();

        var call = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));
        await headersSent.Task.DefaultTimeout();
        server.AbortConnections();

        (await call.Awaiting(c => c).Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Unavailable);
    }

    [Fact]
    public async Task Unary_CleartextServerWithoutHttp2_ThrowsInternalFromHttp2ErrorCode()
    {
        await using var server = await FakeGrpcServer.StartAsync(_ => Task.CompletedTask, protocols: HttpProtocols.Http1);
        using var channel = server.CreateChannel();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        // The HTTP/1.1 endpoint rejects the HTTP/2 preface: a connection-level PROTOCOL_ERROR
        // (or HTTP_1_1_REQUIRED), which the RST_STREAM/GOAWAY table maps to INTERNAL.
        var thrown = await call.Should().ThrowAsync<RpcException>().DefaultTimeout();
        thrown.Which.StatusCode.Should().Be(StatusCode.Internal);
        thrown.Which.Status.Detail.Should().Contain("HTTP/2 error code");
        server.RequestCount.Should().Be(0);
    }

    [Fact]
    public async Task Unary_AddressWithPathBase_PrefixesMethodPath()
    {
        string? path = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            path = context.Request.Path;
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var channel = GrpcChannel.ForAddress(new Uri(server.Address, "/base/"));

        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        path.Should().Be("/base/test.v1.Echo/Unary");
    }

    [Fact]
    public async Task Channel_Disposed_RejectsNewCalls()
    {
        var channel = GrpcChannel.ForAddress("http://127.0.0.1:1");
        channel.Dispose();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        await call.Should().ThrowAsync<ObjectDisposedException>().DefaultTimeout();
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:1")]
    [InlineData("127.0.0.1:5000")]
    public void ForAddress_NotHttp_Throws(string address)
    {
        var create = () => GrpcChannel.ForAddress(address);

        create.Should().Throw<Exception>().Which.Should().Match<Exception>(e => e is ArgumentException || e is UriFormatException);
    }

    [Fact]
    public void ForAddress_KeepsAddress()
    {
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:5000");

        channel.Address.Should().Be(new Uri("http://127.0.0.1:5000"));
    }

    [Fact]
    public async Task Channel_CustomHandlerNotOwned_IsNotDisposed()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.WriteMessageAsync(context, new HealthCheckRequest());
            Wire.SetTrailers(context, 0);
        });
        using var handler = new SocketsHttpHandler();
        var channel = server.CreateChannel(new GrpcChannelOptions { HttpHandler = handler, DisposeHttpHandler = false });
        await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();
        channel.Dispose();

        using var second = server.CreateChannel(new GrpcChannelOptions { HttpHandler = handler });
        var response = await second.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        response.Should().Be(new HealthCheckRequest());
    }

    private static int ClosedPort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
