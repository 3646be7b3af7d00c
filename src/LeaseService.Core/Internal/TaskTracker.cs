namespace LeaseService.Core.Internal;

/// <summary>Counts background tasks so shutdown and tests can wait until none is running.</summary>
internal sealed class TaskTracker
{
    private readonly Lock _gate = new();
    private int _running;
    private TaskCompletionSource? _idle;

    public void Track(Task task)
    {
        lock (_gate)
        {
            _running++;
        }

        task.ContinueWith(
            static (_, state) => ((TaskTracker)state!).Completed(),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            if (_running == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private void Completed()
    {
        TaskCompletionSource? idle = null;
        lock (_gate)
        {
            if (--_running == 0)
            {
                idle = _idle;
                _idle = null;
            }
        }

        idle?.TrySetResult();
    }
}
