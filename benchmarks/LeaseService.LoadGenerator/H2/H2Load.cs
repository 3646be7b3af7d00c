using System.Diagnostics;

namespace LeaseService.LoadGenerator.H2;

/// <summary>
/// Runs a closed loop of <see cref="H2Method"/> calls over <c>connections</c> HTTP/2 connections
/// (<see cref="H2UnaryConnection"/>), each on a thread of its own, with the concurrency split
/// evenly between them: a warm-up whose calls are not timed, then the measured run.
/// </summary>
internal sealed class H2Load : IDisposable
{
    private readonly H2UnaryConnection[] _connections;

    /// <param name="target">The server (http://host:port).</param>
    /// <param name="method">The method to call.</param>
    /// <param name="concurrency">Calls in flight in all; workers 0..concurrency-1.</param>
    /// <param name="connections">Connections (at most <paramref name="concurrency"/>).</param>
    public H2Load(Uri target, H2Method method, int concurrency, int connections)
    {
        connections = Math.Clamp(connections, 1, concurrency);
        _connections = new H2UnaryConnection[connections];
        try
        {
            for (int c = 0, worker = 0; c < connections; c++)
            {
                var streams = concurrency / connections + (c < concurrency % connections ? 1 : 0);
                _connections[c] = H2UnaryConnection.Open(target, method, worker, streams);
                worker += streams;
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// Calls numbered from <paramref name="first"/> up to (not including) <paramref name="end"/>,
    /// or until <paramref name="seconds"/> pass (0: no limit); each connection's latencies in its
    /// own list when <paramref name="record"/>.
    /// </summary>
    public (List<long>[] Latencies, CallErrors Errors) Run(long first, long end, double seconds, bool record)
    {
        var deadline = seconds > 0 ? Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency) : long.MaxValue;
        var numbers = new CallNumbers(first - 1, end, deadline);
        var errors = new CallErrors();
        var latencies = _connections.Select(_ => new List<long>(record ? 65_536 : 0)).ToArray();
        Exception? failure = null;
        var threads = _connections.Select((connection, c) => new Thread(() =>
        {
            try
            {
                connection.Run(numbers, record ? latencies[c] : null, errors);
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
            {
                Interlocked.CompareExchange(ref failure, ex, null);
            }
        })
        { IsBackground = true, Name = $"h2-connection-{c}" }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        return failure is null ? (latencies, errors) : throw new IOException($"a connection failed: {failure.Message}", failure);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection?.Dispose();
        }
    }
}
