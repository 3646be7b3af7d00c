using LeaseService.Client.Renewal;
using LeaseService.Client.Renewal.Internal;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

public sealed class RenewerFactoryTests : IAsyncLifetime
{
    private readonly List<Uri> _transports = [];
    private LeaseRenewerFactory _factory = null!;

    public Task InitializeAsync()
    {
        var time = new FakeTimeProvider();
        _factory = new LeaseRenewerFactory(new LeaseRenewerOptions { TimeProvider = time }, server =>
        {
            _transports.Add(server);
            return new FakeRenewalTransport(time);
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    [Fact]
    public void GetRenewer_SameServerAndUser_SharedByEveryClient()
    {
        var first = _factory.GetRenewer(new Uri("http://nn1:5050"), "alice");
        var second = _factory.GetRenewer(new Uri("HTTP://NN1:5050/some/path"), "alice");

        second.Should().BeSameAs(first);
        first.Name.Should().Be("LeaseRenewer:alice@http://nn1:5050");
        _transports.Should().HaveCount(1);
    }

    [Fact]
    public void GetRenewer_OtherUserOrServer_GetsItsOwnRenewer()
    {
        var alice = _factory.GetRenewer(new Uri("http://nn1:5050"), "alice");

        _factory.GetRenewer(new Uri("http://nn1:5050"), "bob").Should().NotBeSameAs(alice);
        _factory.GetRenewer(new Uri("http://nn2:5050"), "alice").Should().NotBeSameAs(alice);
        _factory.GetRenewer(new Uri("http://nn1:5051"), "alice").Should().NotBeSameAs(alice);
        _factory.GetRenewer(new Uri("http://nn1:5050"), "Alice").Should().NotBeSameAs(alice, "user names are compared exactly");
    }

    [Fact]
    public void GetRenewer_ByClient_KeyedByTheClientsServer()
    {
        using var client = LeaseClient.Create("http://nn1:5050");

        _factory.GetRenewer(client, "alice").Should().BeSameAs(_factory.GetRenewer(new Uri("http://nn1:5050"), "alice"));
    }

    [Fact]
    public async Task GetRenewer_AfterTheRenewerWasDisposed_ReturnsAFreshOne()
    {
        var old = _factory.GetRenewer(new Uri("http://nn1:5050"), "alice");
        await old.DisposeAsync();

        var fresh = _factory.GetRenewer(new Uri("http://nn1:5050"), "alice");

        fresh.Should().NotBeSameAs(old);
        fresh.IsRunning.Should().BeFalse("no task runs until a path is opened");
    }

    [Fact]
    public async Task Dispose_DisposesRenewers_AndRefusesMore()
    {
        var renewer = _factory.GetRenewer(new Uri("http://nn1:5050"), "alice");
        var registration = renewer.Register(RenewerHarness.Lease("c", "/p"), renewer.GetTimestamp());

        await _factory.DisposeAsync();

        registration.AbortReason.Should().Be(LeaseAbortReason.RenewerDisposed);
        FluentActions.Invoking(() => _factory.GetRenewer(new Uri("http://nn1:5050"), "alice")).Should().Throw<ObjectDisposedException>();
    }
}
