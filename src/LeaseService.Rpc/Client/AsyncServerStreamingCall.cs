using System.Runtime.CompilerServices;
using LeaseService.Rpc.Client.Internal;

namespace LeaseService.Rpc.Client;

/// <summary>
/// A server-streaming call in flight. Read it once with <see cref="ReadAllAsync"/>; dispose it to
/// cancel the call (RST_STREAM CANCEL) if it has not ended.
/// </summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
{
    private readonly IServerStreamingCall<TResponse> _call;

    internal AsyncServerStreamingCall(IServerStreamingCall<TResponse> call)
    {
        _call = call;
    }

    /// <summary>
    /// The response messages in order. Ends normally when the call ends with OK and throws
    /// <see cref="RpcException"/> otherwise. Cancelling <paramref name="cancellationToken"/> cancels
    /// the whole call. Can be enumerated once.
    /// </summary>
    public async IAsyncEnumerable<TResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _call.BeginRead();
        while (await _call.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return _call.Current;
        }
    }

    /// <summary>The call's status. Throws <see cref="InvalidOperationException"/> until the stream has ended.</summary>
    public Status GetStatus() => _call.GetStatus();

    /// <summary>Cancels the call if it has not ended and releases its resources.</summary>
    public void Dispose() => _call.Dispose();
}
