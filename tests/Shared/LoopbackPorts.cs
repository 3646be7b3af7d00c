using System.Net;
using System.Net.Sockets;

namespace LeaseService.Testing;

/// <summary>
/// Loopback ports for a test that must name a port before anything binds it (an etcd member, a
/// replica that advertises its own URL) or that needs one where connecting is refused. A port
/// bound to 0 and released comes from the kernel's ephemeral range, from which every other port-0
/// bind and every outgoing connection of the run draws too, so it could be taken before its use.
/// These come from below that range, where the kernel never hands out a port by itself. Each
/// process starts at a point scattered by its id (processes of one run have nearby ids) and walks
/// on from there; a port found bound is skipped. Ports are checked, not reserved: two processes
/// could still meet on one between its check and its bind, which the scattering makes unlikely.
/// </summary>
public static class LoopbackPorts
{
    private const int Lowest = 10000;
    private static readonly Lock Gate = new();
    private static int _next = -1;

    /// <summary>A loopback port nothing listens on now, that no port-0 bind or outgoing connection will take.</summary>
    public static int Free()
    {
        var (low, count) = Stretch();
        lock (Gate)
        {
            if (_next < 0)
            {
                _next = (int)((uint)Environment.ProcessId * 2654435761u % (uint)count); // Knuth's multiplicative hash.
            }

            for (var tried = 0; tried < count; tried++)
            {
                var port = low + (_next++ % count);
                if (IsFree(port))
                {
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"no free loopback port between {low} and {low + count - 1}");
    }

    /// <summary>A loopback URL where connecting is refused: nothing listens on its port.</summary>
    public static string RefusedAddress(string scheme = "http") => $"{scheme}://127.0.0.1:{Free()}";

    private static bool IsFree(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The ports between <see cref="Lowest"/> and the start of the kernel's ephemeral range (Linux's default when it cannot be read).</summary>
    private static (int Low, int Count) Stretch()
    {
        var ephemeralStart = 32768;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            ephemeralStart = int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // Not Linux, or not readable: keep the default.
        }

        if (ephemeralStart - Lowest < 1000)
        {
            throw new InvalidOperationException($"the ephemeral port range starts at {ephemeralStart}: too low to keep test ports out of it");
        }

        return (Lowest, ephemeralStart - Lowest);
    }
}
