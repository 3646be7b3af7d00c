using System.Net;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.Tests.Server.Infrastructure;
using LeaseService.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LeaseService.Rpc.Tests.Server;

/// <summary>An endpoint deliberately opened to HTTP/1.1: gRPC calls over it are refused with 426.</summary>
public sealed class Http1RequestTests : IAsyncLifetime
{
    private TestGrpcServer _server = null!;

    public async Task InitializeAsync() => _server = await TestGrpcServer.StartAsync(protocols: HttpProtocols.Http1);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Http11Request_Returns426WithGrpcStatus13()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _server.Client.BaseAddress };
        using var request = GrpcTestClient.CreateRequest("/test.v1.Test/Echo", new ByteArrayContent(GrpcTestClient.Frame(new StringValue { Value = "x" })));
        request.Version = HttpVersion.Version11;

        using var response = await http.SendAsync(request).DefaultTimeout();

        response.StatusCode.Should().Be(HttpStatusCode.UpgradeRequired);
        response.Headers.GetValues("grpc-status").Should().Equal("13");
    }
}
