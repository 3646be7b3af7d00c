using System.Runtime.CompilerServices;

namespace LeaseService.Testing;

/// <summary>Every awaited task in a test gets a timeout that reports where it hung.</summary>
public static class TaskExtensions
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task DefaultTimeout(
        this Task task,
        [CallerFilePath] string file = "",
        [CallerLineNumber] int line = 0)
    {
        if (await Task.WhenAny(task, Task.Delay(Timeout)).ConfigureAwait(false) != task)
        {
            throw new TimeoutException($"Task did not complete within {Timeout} at {file}:{line}.");
        }

        await task.ConfigureAwait(false);
    }

    public static async Task<T> DefaultTimeout<T>(
        this Task<T> task,
        [CallerFilePath] string file = "",
        [CallerLineNumber] int line = 0)
    {
        if (await Task.WhenAny(task, Task.Delay(Timeout)).ConfigureAwait(false) != task)
        {
            throw new TimeoutException($"Task did not complete within {Timeout} at {file}:{line}.");
        }

        return await task.ConfigureAwait(false);
    }

    public static Task DefaultTimeout(this ValueTask task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        => task.AsTask().DefaultTimeout(file, line);

    public static Task<T> DefaultTimeout<T>(this ValueTask<T> task, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        => task.AsTask().DefaultTimeout(file, line);
}
