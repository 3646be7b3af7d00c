using System.Diagnostics;

/// <summary>The generator's one result line, the same for every mode and transport.</summary>
internal static class LoadReport
{
    /// <summary>Prints the result line; the exit code: 1 when a call failed (the first error goes to stderr) or none completed, else 0.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="latencies">Latencies of the answered calls, in Stopwatch ticks, in any number of lists.</param>
    /// <param name="errors">Failed calls.</param>
    /// <param name="firstError">The first failure's reason, if any.</param>
    /// <param name="elapsed">The measured run's duration.</param>
    /// <param name="clientCpu">This process's CPU time over the measured run.</param>
    public static int Print(LoadOptions options, IEnumerable<List<long>> latencies, long errors, string? firstError, TimeSpan elapsed, TimeSpan clientCpu)
    {
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        double Ms(double quantile) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(quantile * all.Length))] * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine(
            $"mode={options.Mode} transport={options.Transport} target={options.Target} concurrency={options.Concurrency} calls={all.Length} errors={errors} " +
            $"seconds={elapsed.TotalSeconds:0.00} rps={all.Length / elapsed.TotalSeconds:0} " +
            $"p50_ms={Ms(0.50):0.000} p90_ms={Ms(0.90):0.000} p99_ms={Ms(0.99):0.000} max_ms={Ms(1.0):0.000} " +
            $"client_cpu_us={(all.Length == 0 ? 0 : clientCpu.TotalMicroseconds / all.Length):0.0}");
        if (firstError is not null || all.Length == 0)
        {
            Console.Error.WriteLine(firstError is null ? "no call completed" : $"first error: {firstError}");
            return 1;
        }

        return 0;
    }
}
