using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace LeaseService.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP proxy that holds every chunk of bytes for <see cref="Delay"/> in each direction
/// before passing it on, in order: a slow server or network between a client and the server.
/// Latency only; throughput is not limited (chunks are read at once and released when due).
/// </summary>
public sealed class DelayProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Task _accepting;

    public DelayProxy(Uri upstream, TimeSpan delay)
    {
        _upstream = new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port);
        Delay = delay;
        _listener.Start();
        Address = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _accepting = AcceptAsync();
    }

    public TimeSpan Delay { get; }

    public string Address { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] tasks;
        lock (_tasks)
        {
            tasks = [.. _tasks, _accepting];
        }

        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_tasks)
            {
                _tasks.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        await server.ConnectAsync(_upstream, _stop.Token);
        using var pair = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var up = PumpAsync(client.GetStream(), server.GetStream(), pair.Token);
        var down = PumpAsync(server.GetStream(), client.GetStream(), pair.Token);
        await Task.WhenAny(up, down);
        await pair.CancelAsync(); // One side closed: close both, as a proxy does.
        await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Reads chunks as they come and writes each one <see cref="Delay"/> after it arrived.</summary>
    private async Task PumpAsync(NetworkStream from, NetworkStream to, CancellationToken token)
    {
        var chunks = Channel.CreateUnbounded<(long Arrived, byte[] Bytes)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(
            async () =>
            {
                await foreach (var (arrived, bytes) in chunks.Reader.ReadAllAsync(token))
                {
                    var wait = Delay - Stopwatch.GetElapsedTime(arrived);
                    if (wait > TimeSpan.Zero)
                    {
                        // The simulated latency itself, not a test waiting for something.
                        await Task.Delay(wait, token);
                    }

                    await to.WriteAsync(bytes, token);
                }

                to.Socket.Shutdown(SocketShutdown.Send);
            },
            token);
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, token)) > 0)
            {
                chunks.Writer.TryWrite((Stopwatch.GetTimestamp(), buffer[..read]));
            }
        }
        finally
        {
            chunks.Writer.TryComplete();
        }

        await writer;
    }
}
