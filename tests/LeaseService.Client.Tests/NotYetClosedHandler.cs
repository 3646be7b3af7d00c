using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>
/// Passes calls through to the real server, except the first <paramref name="times"/> RemoveLease
/// calls: those get closed=false, as while the last block waits for replicas. Each such answer
/// publishes a task that completes when the next fake-clock timer is armed (the writer's retry pause).
/// </summary>
internal sealed class NotYetClosedHandler(int times, FakeTimeProvider time) : DelegatingHandler(new SocketsHttpHandler())
{
    private readonly Channel<Task> _served = Channel.CreateUnbounded<Task>();
    private int _removeCalls;

    public int RemoveCalls => Volatile.Read(ref _removeCalls);

    public ChannelReader<Task> Served => _served.Reader;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.AbsolutePath.EndsWith("/RemoveLease", StringComparison.Ordinal)
            && Interlocked.Increment(ref _removeCalls) <= times)
        {
            var armed = time.WaitForTimerArmedAsync();
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                Version = HttpVersion.Version20,
                RequestMessage = request,
                Content = new ByteArrayContent(RawGrpc.Frame(new RemoveLeaseResponse { Closed = false })),
            };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            response.TrailingHeaders.Add("grpc-status", "0");
            _served.Writer.TryWrite(armed);
            return response;
        }

        return await base.SendAsync(request, cancellationToken);
    }
}
