using System.Diagnostics;

namespace LeaseService.Testing;

/// <summary>
/// A Fact that needs Debian's python3-grpcio (seen only by /usr/bin/python3). Without it the test
/// is skipped with the reason, except when CI=true: then it runs and fails, so CI cannot go green
/// without the interop check.
/// </summary>
public sealed class PythonInteropFactAttribute : FactAttribute
{
    public PythonInteropFactAttribute()
    {
        if (PythonGrpc.MissingReason is { } reason && !PythonGrpc.RequiredByCi)
        {
            Skip = reason;
        }
    }
}

public static class PythonGrpc
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(Probe);

    public static string? MissingReason => Missing.Value;

    public static bool RequiredByCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? Probe()
    {
        if (!File.Exists(Python))
        {
            return $"python3-grpcio interop skipped: {Python} not found (apt-get install python3-grpcio)";
        }

        var (exit, output) = RunAsync("-c", "import grpc, google.protobuf").GetAwaiter().GetResult();
        return exit == 0 ? null : $"python3-grpcio interop skipped: {Python} cannot import grpc (apt-get install python3-grpcio): {output.Trim()}";
    }
}
