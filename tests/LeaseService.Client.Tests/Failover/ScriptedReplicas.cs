using Grpc.Core;

namespace LeaseService.Client.Tests.Failover;

/// <summary>
/// In-process replicas behind fake call invokers: each address answers unary calls by a script
/// (a response, or a status with trailers), records every call it got, and counts how often it
/// was connected.
/// </summary>
internal sealed class ScriptedReplicas
{
    private readonly Dictionary<Uri, Func<string, object>> _scripts = [];

    /// <summary>Every unary call made, as (address, full method name), in order.</summary>
    public List<(Uri Address, string Method)> Calls { get; } = [];

    /// <summary>How many times each address was connected.</summary>
    public Dictionary<Uri, int> Connects { get; } = [];

    /// <summary>
    /// Sets what <paramref name="address"/> answers: a response message, an <see cref="RpcException"/>
    /// to fail with, or a <see cref="Task{Object}"/> of either, answered when it completes (until
    /// then the call hangs, as on a replica that does not answer, and its cancellation ends it).
    /// </summary>
    public void Answer(string address, Func<string, object> script) => _scripts[new Uri(address)] = script;

    public (CallInvoker Invoker, IDisposable? Owned) Connect(Uri address)
    {
        Connects[address] = Connects.GetValueOrDefault(address) + 1;
        return (new Replica(this, address), null);
    }

    /// <summary>A standby's refusal, naming <paramref name="leader"/> when given.</summary>
    public static RpcException Standby(string? leader = null)
    {
        var trailers = new Metadata();
        if (leader is not null)
        {
            trailers.Add(LeaseClient.LeaderUrlTrailer, leader);
        }

        return new RpcException(new Status(StatusCode.Unavailable, "not the active replica"), trailers);
    }

    /// <summary>A connection refused: nothing was sent.</summary>
    public static RpcException Refused()
        => new(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));

    /// <summary>A connection lost after the request was sent: the server may have applied it.</summary>
    public static RpcException LostMidCall()
        => new(new Status(StatusCode.Unavailable, "Error starting gRPC call.", new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.", new IOException("Connection reset by peer"))));

    /// <summary>
    /// The server closed the connection gracefully (GOAWAY, NO_ERROR: it is stopping) while the
    /// call was in flight, as Grpc.Net.Client reports it: INTERNAL. Seen against a real server.
    /// </summary>
    public static RpcException ClosedByServer()
        => new(new Status(StatusCode.Internal, "Error starting gRPC call. HttpRequestException: The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0). (HttpProtocolError)", new HttpRequestException(HttpRequestError.HttpProtocolError, "The HTTP/2 server closed the connection.", new HttpProtocolException(0, "The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0).", null))));

    private sealed class Replica(ScriptedReplicas replicas, Uri address) : CallInvoker
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            replicas.Calls.Add((address, method.FullName));
            var answer = replicas._scripts.TryGetValue(address, out var script) ? script(method.FullName) : Refused();
            RpcException? failure = null;
            var response = answer is Task<object> later ? AnswerLaterAsync(later, options.CancellationToken) : Answer(answer);
            return new AsyncUnaryCall<TResponse>(
                response,
                Task.FromResult(new Metadata()),
                () => failure?.Status ?? Status.DefaultSuccess,
                () => failure?.Trailers ?? [],
                () => { });

            Task<TResponse> Answer(object answer)
            {
                failure = answer as RpcException;
                return failure is null ? Task.FromResult((TResponse)answer) : Task.FromException<TResponse>(failure);
            }

            async Task<TResponse> AnswerLaterAsync(Task<object> later, CancellationToken cancellationToken)
            {
                object answer;
                try
                {
                    answer = await later.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    answer = new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."));
                }

                return await Answer(answer);
            }
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => throw new NotSupportedException();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new NotSupportedException();
    }
}
