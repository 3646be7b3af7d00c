using System.Net;
using System.Net.Security;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Client.Internal;

namespace LeaseService.Rpc.Tests.Client;

public sealed class HttpHandlerFactoryTests
{
    [Fact]
    public void Create_Defaults_PooledHttp2HandlerWithoutProxyOrPings()
    {
        using var handler = HttpHandlerFactory.Create(new GrpcChannelOptions());

        handler.EnableMultipleHttp2Connections.Should().BeTrue();
        handler.PooledConnectionIdleTimeout.Should().Be(TimeSpan.FromMinutes(5));
        handler.UseProxy.Should().BeFalse();
        handler.AllowAutoRedirect.Should().BeFalse();
        handler.AutomaticDecompression.Should().Be(DecompressionMethods.None);
        handler.KeepAlivePingDelay.Should().Be(Timeout.InfiniteTimeSpan);
    }

    [Fact]
    public void Create_Options_AppliesKeepAliveAndTls()
    {
        var ssl = new SslClientAuthenticationOptions { TargetHost = "leases.example" };

        using var handler = HttpHandlerFactory.Create(new GrpcChannelOptions { KeepAlivePingDelay = TimeSpan.FromMinutes(5), SslOptions = ssl });

        handler.KeepAlivePingDelay.Should().Be(TimeSpan.FromMinutes(5));
        handler.KeepAlivePingPolicy.Should().Be(HttpKeepAlivePingPolicy.WithActiveRequests);
        handler.SslOptions.TargetHost.Should().Be("leases.example");
    }

    [Fact]
    public void ForAddress_NegativeMaxReceiveMessageSize_Throws()
    {
        var create = () => GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { MaxReceiveMessageSize = -1 });

        create.Should().Throw<ArgumentOutOfRangeException>();
    }
}
