using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

public sealed class TlsTests
{
    [Fact]
    public async Task Unary_HttpsAddress_NegotiatesHttp2OverTls()
    {
        using var certificate = CreateCertificate();
        string? protocol = null;
        bool? isHttps = null;
        await using var server = await FakeGrpcServer.StartAsync(
            async context =>
            {
                protocol = context.Request.Protocol;
                isHttps = context.Request.IsHttps;
                var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
                await Wire.WriteMessageAsync(context, request);
                Wire.SetTrailers(context, 0);
            },
            certificate);
        var options = new GrpcChannelOptions
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString(),
            },
        };
        using var channel = server.CreateChannel(options);

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("secure")).DefaultTimeout();

        server.Address.Scheme.Should().Be("https");
        response.Service.Should().Be("secure");
        protocol.Should().Be("HTTP/2");
        isHttps.Should().BeTrue();
    }

    [Fact]
    public async Task Unary_UntrustedCertificate_ThrowsUnavailable()
    {
        using var certificate = CreateCertificate();
        await using var server = await FakeGrpcServer.StartAsync(_ => Task.CompletedTask, certificate);
        using var channel = server.CreateChannel();

        var call = () => channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"));

        (await call.Should().ThrowAsync<RpcException>().DefaultTimeout()).Which.StatusCode.Should().Be(StatusCode.Unavailable);
        server.RequestCount.Should().Be(0);
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null);
    }
}
