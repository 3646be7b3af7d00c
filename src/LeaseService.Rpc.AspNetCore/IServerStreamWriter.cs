namespace LeaseService.Rpc.AspNetCore;

/// <summary>Writes the response messages of a server-streaming call; each write is flushed.</summary>
public interface IServerStreamWriter<in T>
{
    /// <summary>
    /// Writes and flushes one message. Completes when the transport accepted it (HTTP/2 flow control
    /// applies back-pressure). Fails with <see cref="OperationCanceledException"/> once the call is
    /// cancelled (client abort or deadline). <paramref name="cancellationToken"/> is checked before
    /// the write begins; a write in progress is bounded by the call's own token.
    /// </summary>
    ValueTask WriteAsync(T message, CancellationToken cancellationToken = default);
}
