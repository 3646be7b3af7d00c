using Etcdserverpb;
using Grpc.Core;

namespace LeaseService.Storage.Etcd.Internal;

/// <summary>
/// One LeaseKeepAlive stream and its reader: etcd answers a stream's keepalives in order, so
/// each answer is matched to the oldest keepalive unanswered and handed on with the time that
/// keepalive was sent, also after its sender stopped waiting for it.
/// </summary>
internal sealed class KeepAliveStream : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> _call;
    private readonly Action<long, long> _onAnswer;
    private readonly Lock _lock = new();
    private readonly Queue<(long Sent, TaskCompletionSource<bool> Answered)> _unanswered = new();
    private readonly Task _reading;
    private Exception? _failure;

    /// <param name="call">The stream; disposed with this.</param>
    /// <param name="onAnswer">Told each answer: when its keepalive was sent, the TTL etcd reports.</param>
    /// <param name="cancellationToken">Ends the reading (the session ended).</param>
    public KeepAliveStream(AsyncDuplexStreamingCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> call, Action<long, long> onAnswer, CancellationToken cancellationToken)
    {
        _call = call;
        _onAnswer = onAnswer;
        _reading = ReadAsync(cancellationToken);
    }

    /// <summary>
    /// Sends a keepalive (sent at <paramref name="sent"/>) and waits at most
    /// <paramref name="wait"/> for its answer: true when answered, false when not in time.
    /// Throws when the stream failed or ended.
    /// </summary>
    public async Task<bool> SendAsync(long leaseId, long sent, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_failure is { } failure)
            {
                throw Failed(failure);
            }

            _unanswered.Enqueue((sent, answered));
        }

        using var timeout = new CancellationTokenSource(wait, time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await _call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = leaseId }, bounded.Token).ConfigureAwait(false);
            if (!await answered.Task.WaitAsync(bounded.Token).ConfigureAwait(false))
            {
                throw Failed(Volatile.Read(ref _failure)!);
            }

            return true;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await _reading.ConfigureAwait(false);
    }

    private static RpcException Failed(Exception failure) => new(new Status(StatusCode.Unavailable, $"the keepalive stream failed: {failure.Message}", failure));

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        Exception failure;
        try
        {
            while (await _call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                (long Sent, TaskCompletionSource<bool> Answered) keepAlive;
                lock (_lock)
                {
                    if (!_unanswered.TryDequeue(out keepAlive))
                    {
                        continue; // Nothing sent is unanswered: not an answer of ours.
                    }
                }

                _onAnswer(keepAlive.Sent, _call.ResponseStream.Current.TTL);
                keepAlive.Answered.TrySetResult(true);
            }

            failure = new InvalidOperationException("etcd ended the stream");
        }
        catch (Exception ex)
        {
            // Disposed, the session ended, or the member went away.
            failure = ex;
        }

        List<TaskCompletionSource<bool>> unanswered;
        lock (_lock)
        {
            _failure = failure;
            unanswered = [.. _unanswered.Select(k => k.Answered)];
            _unanswered.Clear();
        }

        foreach (var keepAlive in unanswered)
        {
            keepAlive.TrySetResult(false);
        }
    }
}
