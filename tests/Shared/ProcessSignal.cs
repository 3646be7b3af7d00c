using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LeaseService.Testing;

/// <summary>
/// POSIX signals to a process the test started (kill(2)): SIGINT and SIGTERM for a graceful stop,
/// SIGSTOP and SIGCONT for a process that hangs — as its peers see it, the kernel keeps its
/// connections and nothing answers. Signal numbers are Linux's.
/// </summary>
public static class ProcessSignal
{
    public const int Sigint = 2;
    public const int Sigterm = 15;
    public const int Sigcont = 18;
    public const int Sigstop = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="process"/>; throws when the kernel refuses.</summary>
    public static void Send(Process process, int signal)
    {
        if (Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill -{Name(signal)} {process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    private static string Name(int signal) => signal switch
    {
        Sigint => "INT",
        Sigterm => "TERM",
        Sigcont => "CONT",
        Sigstop => "STOP",
        _ => signal.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // DllImport rather than LibraryImport: no unsafe code for one int-only libc call.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
