using Grpc.Core;

namespace LeaseService.Server.Health;

/// <summary>A call's context whose cancellation also fires on <c>end</c>: how Watch streams are ended on shutdown.</summary>
internal sealed class EndingServerCallContext(ServerCallContext inner, CancellationTokenSource linked) : ServerCallContext, IDisposable
{
    /// <summary>Where <c>GetHttpContext()</c> finds the HttpContext of a context that is not ASP.NET Core's own.</summary>
    private const string HttpContextKey = "__HttpContext";

    public static EndingServerCallContext Create(ServerCallContext inner, CancellationToken end)
    {
        inner.UserState[HttpContextKey] = inner.GetHttpContext();
        return new(inner, CancellationTokenSource.CreateLinkedTokenSource(inner.CancellationToken, end));
    }

    protected override string MethodCore => inner.Method;

    protected override string HostCore => inner.Host;

    protected override string PeerCore => inner.Peer;

    protected override DateTime DeadlineCore => inner.Deadline;

    protected override Metadata RequestHeadersCore => inner.RequestHeaders;

    protected override CancellationToken CancellationTokenCore => linked.Token;

    protected override Metadata ResponseTrailersCore => inner.ResponseTrailers;

    protected override Status StatusCore
    {
        get => inner.Status;
        set => inner.Status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    protected override AuthContext AuthContextCore => inner.AuthContext;

    protected override IDictionary<object, object> UserStateCore => inner.UserState;

    public void Dispose() => linked.Dispose();

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => inner.CreatePropagationToken(options);

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => inner.WriteResponseHeadersAsync(responseHeaders);
}
