using System.Net;
using System.Net.Sockets;
using LeaseService.Testing;

namespace LeaseService.Client.Tests.Failover;

/// <summary>
/// A client of several replicas whose first address does not answer — a process that accepts
/// connections but never answers (paused, frozen), or a host that drops packets — against a real
/// server over HTTP/2 as the second address.
/// </summary>
public sealed class UnresponsiveReplicaTests : IAsyncLifetime
{
    private ServerFixture _server = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        await _server.Client.AddLeaseAsync("w", "/held").DefaultTimeout();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task FirstReplicaAcceptsButNeverAnswers_RenewalReachesTheActiveAfterTheAttemptTimeout()
    {
        using var frozen = FrozenListener(out var frozenAddress);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = LeaseClient.Create([frozenAddress, _server.Address], new LeaseClientOptions { CallTimeout = Timeout.InfiniteTimeSpan, TimeProvider = time });

        var renewal = client.RenewLeaseAsync("w");
        using var accepted = await WaitUntilConnectedAsync(frozen);
        renewal.IsCompleted.Should().BeFalse();
        time.Advance(new LeaseClientOptions().FailoverAttemptTimeout);

        (await renewal.DefaultTimeout()).LeasesRenewed.Should().Be(1);
        client.ActiveAddress.Should().Be(new Uri(_server.Address));
        (await client.RenewLeaseAsync("w").DefaultTimeout()).LeasesRenewed.Should().Be(1, "the next call goes straight to the replica that answered");
    }

    [Fact]
    public async Task FirstReplicaAcceptsButNeverAnswers_ChangeRunsIntoItsDeadline_TheNextCallStartsAtTheActive()
    {
        using var frozen = FrozenListener(out var frozenAddress);
        using var client = LeaseClient.Create([frozenAddress, _server.Address], new LeaseClientOptions { CallTimeout = TimeSpan.FromMilliseconds(500) });

        var open = client.AddLeaseAsync("w", "/new");
        using var accepted = await WaitUntilConnectedAsync(frozen);

        // Not retried elsewhere: the frozen replica may still apply it.
        (await FluentActions.Awaiting(() => open).Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(Grpc.Core.StatusCode.DeadlineExceeded);

        (await client.AddLeaseAsync("w", "/new").DefaultTimeout()).Holder.Should().Be("w");
        client.ActiveAddress.Should().Be(new Uri(_server.Address));
    }

    [Fact]
    public async Task FirstReplicasHostDropsConnects_ChangeGoesToTheNextReplicaAfterTheConnectTimeout()
    {
        using var dead = new DroppingListener();
        using var client = LeaseClient.Create(
            [$"http://127.0.0.1:{dead.Port}", _server.Address],
            new LeaseClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300) });

        (await client.AddLeaseAsync("w", "/new").DefaultTimeout()).Holder.Should().Be("w", "nothing was sent to a replica never connected, so any method moves on");
        client.ActiveAddress.Should().Be(new Uri(_server.Address));
    }

    /// <summary>A listening socket nobody accepts from: the kernel completes handshakes, nothing answers.</summary>
    private static Socket FrozenListener(out string address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(16);
        address = $"http://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}";
        return socket;
    }

    /// <summary>Waits until the client has connected to <paramref name="listener"/>; the connection, for the test to keep open (never answered, never reset).</summary>
    private static async Task<Socket> WaitUntilConnectedAsync(Socket listener) => await listener.AcceptAsync().DefaultTimeout();

    /// <summary>A port whose SYNs go unanswered, as a host that is off or firewalled: a listener with its accept queue full.</summary>
    private sealed class DroppingListener : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly List<Socket> _fillers = [];

        public DroppingListener()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(0);
            var endpoint = (IPEndPoint)_listener.LocalEndPoint!;
            Port = endpoint.Port;
            for (var i = 0; i < 4; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try
                {
                    filler.Connect(endpoint);
                }
                catch (SocketException)
                {
                    // In progress (or dropped): either way it fills the queue.
                }

                _fillers.Add(filler);
            }

            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.ConnectAsync(endpoint).Wait(TimeSpan.FromMilliseconds(500)).Should().BeFalse("precondition: a connect to this port hangs");
        }

        public int Port { get; }

        public void Dispose()
        {
            foreach (var filler in _fillers)
            {
                filler.Dispose();
            }

            _listener.Dispose();
        }
    }
}
