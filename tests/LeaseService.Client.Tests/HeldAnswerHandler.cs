namespace LeaseService.Client.Tests;

/// <summary>
/// Sends every call to the server; the <paramref name="lose"/>th call to <paramref name="method"/>
/// fails for its caller (a connection reset) once the test calls <see cref="Fail"/>, while the
/// server goes on with it: <see cref="ServerAnswered"/> completes when the server's answer, which
/// nobody reads, arrives. So a test holds a write in flight on the server after its caller gave up.
/// </summary>
internal sealed class HeldAnswerHandler(string method, int lose) : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly TaskCompletionSource _fail = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public Task ServerAnswered => _answered.Task;

    public void Fail() => _fail.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.RequestUri!.AbsolutePath.EndsWith(method, StringComparison.Ordinal) || Interlocked.Increment(ref _calls) != lose)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        var answer = base.SendAsync(request, CancellationToken.None); // Not the caller's: the server goes on.
        _ = answer.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }

                _answered.TrySetResult();
            },
            TaskScheduler.Default);
        await _fail.Task;
        throw new HttpRequestException(HttpRequestError.ConnectionError, "The connection was reset before the answer arrived.", new IOException("Connection reset by peer"));
    }
}
