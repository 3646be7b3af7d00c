using Grpc.Core;
using Grpc.Core.Interceptors;
using LeaseService.Client.Renewal;
using LeaseService.Client.Renewal.Internal;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client.Tests;

/// <summary>Which client a shared renewer renews through, against the real server over HTTP/2.</summary>
public sealed class RenewerTransportTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async Task InitializeAsync() => _server = await ServerFixture.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task TwoLiveClientsOfAUser_RenewalsGoThroughTheFirst()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(_server.Address);
        var (first, second) = (new CountingInterceptor(), new CountingInterceptor());
        using var c1 = new LeaseClient(channel.Intercept(first), new Uri(_server.Address));
        using var c2 = new LeaseClient(channel.Intercept(second), new Uri(_server.Address));
        await using var factory = new LeaseRenewerFactory();
        await c1.AddLeaseAsync("etl", "/t/1").DefaultTimeout();

        var renewer = factory.GetRenewer(c1, "etl");
        factory.GetRenewer(c2, "etl").Should().BeSameAs(renewer);
        (await Transport(renewer).RenewAsync("etl", default).DefaultTimeout()).LeasesRenewed.Should().Be(1);

        (first.Calls, second.Calls).Should().Be((2, 0), "the first client's AddLease and the renewal; the second client is the fallback");
    }

    [Fact]
    public async Task FirstClientsChannelClosed_RenewalsGoThroughTheNextClientThatAsked()
    {
        var first = LeaseClient.Create(_server.Address);
        using var second = LeaseClient.Create(_server.Address);
        await using var factory = new LeaseRenewerFactory();
        await second.AddLeaseAsync("etl", "/t/1").DefaultTimeout();
        var renewer = factory.GetRenewer(first, "etl");
        factory.GetRenewer(second, "etl");

        first.Dispose();

        (await Transport(renewer).RenewAsync("etl", default).DefaultTimeout()).LeasesRenewed.Should().Be(1);
    }

    [Fact]
    public async Task EveryClientDisposed_ThenAClientAsksAgain_RenewalsGoThroughIt()
    {
        // A job's client was disposed while a path of it was still registered (a leaked writer):
        // that renewal found no live client. The next job asks again with its own client, as the
        // failure's message says to.
        var first = LeaseClient.Create(_server.Address);
        await using var factory = new LeaseRenewerFactory();
        var renewer = factory.GetRenewer(first, "etl");
        first.Dispose();
        await FluentActions.Awaiting(() => Transport(renewer).RenewAsync("etl", default)).Should().ThrowAsync<ObjectDisposedException>();

        using var second = LeaseClient.Create(_server.Address);
        await second.AddLeaseAsync("etl", "/t/1").DefaultTimeout();
        factory.GetRenewer(second, "etl").Should().BeSameAs(renewer);

        (await Transport(renewer).RenewAsync("etl", default).DefaultTimeout()).LeasesRenewed.Should().Be(1, "the renewer renews through the client that asked since");
    }

    [Fact]
    public async Task ClientFromDiDisposedByTheApplication_OwnsNoConnection_RenewalsStillGoThroughIt()
    {
        var services = new ServiceCollection();
        services.AddLeaseClient(new Uri(_server.Address));
        await using var provider = services.BuildServiceProvider();
        await using var factory = new LeaseRenewerFactory();
        LeaseRenewer renewer;
        using (var job = provider.GetRequiredService<LeaseClient>())
        {
            await job.AddLeaseAsync("etl", "/t/1").DefaultTimeout();
            renewer = factory.GetRenewer(job, "etl");
        }

        (await Transport(renewer).RenewAsync("etl", default).DefaultTimeout()).LeasesRenewed.Should().Be(1, "the factory owns the channel: disposing the client closed nothing");
    }

    [Fact]
    public async Task ClientsThatAskedAndWereLetGo_AreNotKeptAlive()
    {
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(_server.Address);
        await using var factory = new LeaseRenewerFactory();
        factory.GetRenewer(new LeaseClient(channel), "etl");
        var letGo = AskAndLetGo(factory, channel, 1000);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        letGo.IsAlive.Should().BeFalse("a client per job over a shared channel, never disposed, must not pile up in the renewer");
    }

    /// <summary>Asks for the renewer with <paramref name="count"/> clients nobody keeps; a weak reference to one of them.</summary>
    private static WeakReference AskAndLetGo(LeaseRenewerFactory factory, Grpc.Net.Client.GrpcChannel channel, int count)
    {
        WeakReference? one = null;
        for (var i = 0; i < count; i++)
        {
            var client = new LeaseClient(channel);
            factory.GetRenewer(client, "etl");
            one ??= new WeakReference(client);
        }

        return one!;
    }

    private static LeaseClientRenewalTransport Transport(LeaseRenewer renewer) => (LeaseClientRenewalTransport)renewer.Transport;

    private sealed class CountingInterceptor : Interceptor
    {
        public int Calls;

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            Interlocked.Increment(ref Calls);
            return continuation(request, context);
        }
    }
}
