using Grpc.Core;

namespace LeaseService.Server.Health;

/// <summary>
/// A Watch stream's writer during shutdown: once the host is stopping, the stream ends after it has
/// written its next message (the NOT_SERVING that <see cref="HealthDrain"/> pushes) or after
/// <see cref="Grace"/>, whichever comes first, so a watcher learns the status before the stream ends.
/// </summary>
internal sealed class DrainingStreamWriter<T>(IServerStreamWriter<T> inner, CancellationToken stopping) : IServerStreamWriter<T>
{
    /// <summary>The longest a Watch outlives the start of the drain.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    private readonly TaskCompletionSource _writtenWhileStopping = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    /// <summary>Completes when a message was written after the host started stopping, or after the grace.</summary>
    public Task DrainedAsync() => _writtenWhileStopping.Task.WaitAsync(Grace).ContinueWith(static _ => { }, TaskScheduler.Default);

    public async Task WriteAsync(T message)
    {
        await inner.WriteAsync(message).ConfigureAwait(false);
        if (stopping.IsCancellationRequested)
        {
            _writtenWhileStopping.TrySetResult();
        }
    }
}
