using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>
/// Lets the first RemoveLease reach the server (which closes the file) and then loses its answer,
/// as a connection reset would. <see cref="RetryArmed"/> completes when the writer's retry pause
/// has armed its fake-clock timer.
/// </summary>
internal sealed class LostRemoveReplyHandler(FakeTimeProvider time) : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly TaskCompletionSource<Task> _retryArmed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _removeCalls;

    public int RemoveCalls => Volatile.Read(ref _removeCalls);

    public Task<Task> RetryArmed => _retryArmed.Task;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.RequestUri!.AbsolutePath.EndsWith("/RemoveLease", StringComparison.Ordinal) && Interlocked.Increment(ref _removeCalls) == 1)
        {
            // The server has answered: Grpc.AspNetCore sends a unary call's headers with its response,
            // after the handler ran...
            response.Dispose();
            _retryArmed.TrySetResult(time.WaitForTimerArmedAsync());
            throw new HttpRequestException(HttpRequestError.ConnectionError, "The connection was reset before the answer arrived.", new IOException("Connection reset by peer")); // ...but it is lost.
        }

        return response;
    }
}
