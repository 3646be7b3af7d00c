namespace LeaseService.Rpc.Client.Internal;

/// <summary>What <see cref="AsyncServerStreamingCall{TResponse}"/> needs from a call, without its request type.</summary>
internal interface IServerStreamingCall<TResponse> : IDisposable
{
    TResponse Current { get; }

    /// <summary>Claims the single reader; throws if the call was already read.</summary>
    void BeginRead();

    ValueTask<bool> MoveNextAsync(CancellationToken cancellationToken);

    Status GetStatus();
}
