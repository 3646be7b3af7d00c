using Grpc.Net.Client;

namespace LeaseService.Client.Tests;

/// <summary>
/// Lets every call reach the server, and loses the answer of the <paramref name="lose"/>th call to
/// <paramref name="method"/> (e.g. <c>/WriteBlock</c>) after the server ran it, as a connection
/// reset would.
/// </summary>
internal sealed class LostAnswerHandler(string method, int lose) : DelegatingHandler(new SocketsHttpHandler())
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.RequestUri!.AbsolutePath.EndsWith(method, StringComparison.Ordinal) && Interlocked.Increment(ref _calls) == lose)
        {
            // A unary call's headers come with its answer, after the server ran it; the answer is lost.
            response.Dispose();
            throw new HttpRequestException(HttpRequestError.ConnectionError, "The connection was reset before the answer arrived.", new IOException("Connection reset by peer"));
        }

        return response;
    }
}

/// <summary>A client of <paramref name="address"/> whose <paramref name="lose"/>th <paramref name="method"/> call loses its answer (<see cref="LostAnswerHandler"/>).</summary>
internal sealed class LossyLink : IDisposable
{
    private readonly GrpcChannel _channel;

    public LossyLink(string address, int lose, string method = "/WriteBlock")
    {
        Handler = new LostAnswerHandler(method, lose);
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = Handler });
        Client = new LeaseClient(_channel);
    }

    public LostAnswerHandler Handler { get; }

    public LeaseClient Client { get; }

    public void Dispose()
    {
        _channel.Dispose();
        Handler.Dispose();
    }
}
