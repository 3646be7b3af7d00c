using System.Runtime.CompilerServices;

namespace LeaseService.Testing;

/// <summary>
/// Waits for a state that no event announces and that no clock of ours drives (another process's,
/// such as etcd's view of a key or a replica's view of the active), checking every 20 ms, bounded
/// by <see cref="TaskExtensions.Timeout"/>.
/// </summary>
public static class Poll
{
    public static async Task UntilAsync(Func<bool> condition, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (started.Elapsed > TaskExtensions.Timeout)
            {
                throw new TimeoutException($"Condition not reached within {TaskExtensions.Timeout} at {file}:{line}.");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }
}
