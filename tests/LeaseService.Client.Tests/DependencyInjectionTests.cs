using Grpc.Core;
using Grpc.Core.Interceptors;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client.Tests;

/// <summary>
/// <c>AddLeaseClient</c> as an application registers it, against the real server over real HTTP/2:
/// the options' credentials reach the wire (TLS client certificate, bearer token), the builder's
/// interceptors run, and several replicas give one client that follows the reachable one.
/// </summary>
public sealed class DependencyInjectionTests : IAsyncLifetime
{
    private readonly SecureServer _secure = new();

    public Task InitializeAsync() => _secure.InitializeAsync();

    public Task DisposeAsync() => _secure.DisposeAsync();

    [Fact]
    public async Task ClientCertificate_IsPresentedOnTls_AndTheHolderBelongsToItsSubject()
    {
        using var certificate = _secure.Pki.IssueClient("alice");
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(_secure.Address), new LeaseClientOptions { ClientCertificate = certificate, ServerCertificateAuthority = _secure.Pki.Ca });
        await using var provider = services.BuildServiceProvider();

        var lease = await provider.GetRequiredService<LeaseClient>().AddLeaseAsync("alice-etl", "/di/cert").DefaultTimeout();

        lease.Holder.Should().Be("alice-etl");
        var asBob = async () => await _secure.As("bob").AddLeaseAsync("alice-etl", "/di/other").DefaultTimeout();
        await asBob.Should().ThrowAsync<LeaseServiceException>().Where(e => e.StatusCode == StatusCode.PermissionDenied, "the certificate made alice the holder's owner");
    }

    [Fact]
    public async Task BearerToken_IsSentOverTls()
    {
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(_secure.Address), new LeaseClientOptions { BearerToken = TestTokens.Mint("carol"), ServerCertificateAuthority = _secure.Pki.Ca });
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<LeaseClient>().AddLeaseAsync("carol-etl", "/di/token").DefaultTimeout();

        var asBob = async () => await _secure.As("bob").AddLeaseAsync("carol-etl", "/di/token-2").DefaultTimeout();
        await asBob.Should().ThrowAsync<LeaseServiceException>().Where(e => e.StatusCode == StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task BearerToken_IsSentOverCleartextToLoopback()
    {
        await using var server = await ServerFixture.StartAsync(TestTokens.Settings);
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(server.Address), new LeaseClientOptions { BearerToken = TestTokens.Mint("dave") });
        await using var provider = services.BuildServiceProvider();

        var lease = await provider.GetRequiredService<LeaseClient>().AddLeaseAsync("dave-etl", "/di/loopback").DefaultTimeout();

        lease.Holder.Should().Be("dave-etl", "the token went with the call: without it the server answers UNAUTHENTICATED");
    }

    [Fact]
    public void BearerToken_OverCleartextToAnotherHost_IsRefusedWhenRegistered()
    {
        var register = () => new ServiceCollection().AddLeaseClient(new Uri("http://leases.example.com:5050"), new LeaseClientOptions { BearerToken = "t" });

        register.Should().Throw<ArgumentException>().WithMessage("*only over TLS*");
    }

    [Fact]
    public void ChannelOptions_AreRefused_TheBuilderConfiguresTheChannel()
    {
        var register = () => new ServiceCollection().AddLeaseClient(new Uri("http://127.0.0.1:5050"), new LeaseClientOptions { Channel = new() });

        register.Should().Throw<ArgumentException>().WithMessage("*ConfigureChannel*");
    }

    [Fact]
    public async Task BuilderInterceptors_SeeEveryCall()
    {
        var counter = new CountingInterceptor();
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(_secure.Address), new LeaseClientOptions { BearerToken = TestTokens.Mint("erin"), ServerCertificateAuthority = _secure.Pki.Ca })
            .AddInterceptor(() => counter);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<LeaseClient>();

        await client.AddLeaseAsync("erin-etl", "/di/intercepted").DefaultTimeout();
        await client.RenewLeaseAsync("erin-etl").DefaultTimeout();

        counter.Methods.Should().Equal("/leases.v1.LeaseService/AddLease", "/leases.v1.LeaseService/RenewLease");
    }

    [Fact]
    public async Task HandlerAdjustedThroughTheBuilder_KeepsTheClientsTls()
    {
        using var certificate = _secure.Pki.IssueClient("grace");
        SocketsHttpHandler? adjusted = null;
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(_secure.Address), new LeaseClientOptions { ClientCertificate = certificate, ServerCertificateAuthority = _secure.Pki.Ca })
            .ConfigurePrimaryHttpMessageHandler((handler, _) => (adjusted = (SocketsHttpHandler)handler).KeepAlivePingDelay = TimeSpan.FromSeconds(5));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<LeaseClient>().AddLeaseAsync("grace-etl", "/di/adjusted").DefaultTimeout();

        adjusted!.KeepAlivePingDelay.Should().Be(TimeSpan.FromSeconds(5), "the README's way to change the handler");
        adjusted.SslOptions.ClientCertificates!.Cast<object>().Should().ContainSingle("the client's certificate is still on it: the call above was authenticated by it");
    }

    [Fact]
    public async Task SeveralReplicas_OneSharedClient_ThatReachesTheAnsweringReplica()
    {
        var gone = new Uri(LoopbackPorts.RefusedAddress("https"));
        var services = new ServiceCollection();
        services.AddLeaseClient([gone, new Uri(_secure.Address)], new LeaseClientOptions
        {
            BearerToken = TestTokens.Mint("frank"),
            ServerCertificateAuthority = _secure.Pki.Ca,
            FailoverBackoff = TimeSpan.FromMilliseconds(10),
        });
        LeaseClient client;
        await using (var provider = services.BuildServiceProvider())
        {
            client = provider.GetRequiredService<LeaseClient>();
            provider.GetRequiredService<LeaseClient>().Should().BeSameAs(client, "one client (its channels and failover state) serves the application");
            client.Addresses.Should().Equal(gone, new Uri(_secure.Address));

            var renew = async () => await client.RenewLeaseAsync("frank-etl").DefaultTimeout();
            await renew.Should().ThrowAsync<LeaseNotFoundException>("the refused connection to the first replica moved the call to the second, which answered");
            await client.AddLeaseAsync("frank-etl", "/di/replicas").DefaultTimeout();
            client.ActiveAddress.Should().Be(new Uri(_secure.Address));
        }

        var afterDispose = async () => await client.RenewLeaseAsync("frank-etl").DefaultTimeout();
        await afterDispose.Should().ThrowAsync<ObjectDisposedException>("the container disposed the client it made, and its channels");
    }

    [Fact]
    public void SeveralReplicas_NoneNotHttpOrATokenOverCleartextToAnotherHost_IsRefusedWhenRegistered()
    {
        var none = () => new ServiceCollection().AddLeaseClient(Array.Empty<Uri>());
        var ftp = () => new ServiceCollection().AddLeaseClient([new Uri("ftp://127.0.0.1:21")]);
        var cleartext = () => new ServiceCollection().AddLeaseClient(
            [new Uri("http://127.0.0.1:5050"), new Uri("http://leases-b.example.com:5050")], new LeaseClientOptions { BearerToken = "t" });

        none.Should().Throw<ArgumentException>();
        ftp.Should().Throw<ArgumentException>();
        cleartext.Should().Throw<ArgumentException>().WithMessage("*only over TLS*leases-b.example.com*");
    }

    [Fact]
    public void ASecondRegistration_IsRefused_RatherThanSilentlyReplacingTheFirst()
    {
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri("http://127.0.0.1:5050"));

        var again = () => services.AddLeaseClient(new Uri("http://127.0.0.1:5051"));
        var replicas = () => services.AddLeaseClient([new Uri("http://127.0.0.1:5052"), new Uri("http://127.0.0.1:5053")]);

        again.Should().Throw<InvalidOperationException>().WithMessage("*already registered*");
        replicas.Should().Throw<InvalidOperationException>().WithMessage("*already registered*");
    }

    private sealed class CountingInterceptor : Interceptor
    {
        public List<string> Methods { get; } = [];

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            lock (Methods)
            {
                Methods.Add(context.Method.FullName);
            }

            return continuation(request, context);
        }
    }
}
