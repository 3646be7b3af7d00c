using Grpc.Core;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Health;

/// <summary>
/// A health Watch stream's writer, so the stream always tells its watcher NOT_SERVING before it
/// ends on shutdown. <see cref="HealthDrain"/> pushes NOT_SERVING to every Watch; when the health
/// service already held NOT_SERVING for the watched service (a health-check publication raced a
/// status change) nothing is pushed, so <see cref="DrainAsync"/> writes it itself after
/// <see cref="Grace"/>. Writes never overlap.
/// </summary>
internal sealed class DrainingWatchWriter(IServerStreamWriter<HealthCheckResponse> inner) : IServerStreamWriter<HealthCheckResponse>, IDisposable
{
    /// <summary>How long the pushed NOT_SERVING may take before the writer sends its own.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _writes = new(1, 1);
    private readonly TaskCompletionSource _notServingWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public async Task WriteAsync(HealthCheckResponse message)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _writes.WaitAsync().ConfigureAwait(false);
        try
        {
            await inner.WriteAsync(message).ConfigureAwait(false);
            if (message.Status == ServingStatus.NotServing)
            {
                _notServingWritten.TrySetResult();
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Returns once the watcher has been sent NOT_SERVING (or the stream can take no more).</summary>
    public async Task DrainAsync()
    {
        if (await Task.WhenAny(_notServingWritten.Task, Task.Delay(Grace)).ConfigureAwait(false) == _notServingWritten.Task)
        {
            return;
        }

        try
        {
            await WriteAsync(new HealthCheckResponse { Status = ServingStatus.NotServing }).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The watcher went away or the stream already completed.
        }
    }

    public void Dispose() => _writes.Dispose();
}
