using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Diagnostics;
using LeaseService.Rpc.AspNetCore.Internal.Framing;
using LeaseService.Rpc.AspNetCore.Internal.Logging;
using LeaseService.Rpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LeaseService.Rpc.AspNetCore.Internal.Dispatch;

/// <summary>Runs calls to one method: the shape-independent part (deadline, errors, final status).</summary>
internal abstract class ServerMethodInvoker(string path, GrpcServerRuntime runtime)
{
    public string Path { get; } = path;

    /// <summary>The method's <c>service</c> and <c>method</c> metric tags.</summary>
    public MethodLabels Labels { get; } = MethodLabels.FromPath(path);

    protected GrpcServerRuntime Runtime { get; } = runtime;

    /// <summary>Entry point per call. The dispatcher has checked method, content-type and path.</summary>
    public Task HandleCallAsync(HttpContext httpContext)
    {
        var call = new ServerCallContext(httpContext, Path, Labels, Runtime);
        var timeout = httpContext.Request.Headers.GrpcTimeout;
        if (timeout.Count != 0)
        {
            var value = timeout.ToString();
            if (GrpcTimeout.TryParse(value, out var span))
            {
                call.StartDeadline(span);
            }
            else
            {
                ServerLog.InvalidTimeout(Runtime.Logger, value);
            }
        }

        EnsureBodySizeLimit(httpContext);
        return HandleCallCoreAsync(call);
    }

    protected abstract Task HandleCallCoreAsync(ServerCallContext call);

    /// <summary>Ends the call after the handler or the request reader threw.</summary>
    protected Task CompleteWithErrorAsync(ServerCallContext call, Exception exception)
    {
        if (!call.TryComplete())
        {
            return call.FinishAfterDeadlineAsync();
        }

        var status = StatusCode.Cancelled;
        try
        {
            var httpContext = call.HttpContext;
            if (exception is RpcException rpc)
            {
                ServerLog.RpcError(Runtime.Logger, Path, rpc.StatusCode, rpc.Status.Detail);
                if (httpContext.RequestAborted.IsCancellationRequested)
                {
                    ServerLog.CallAborted(Runtime.Logger, Path);
                    return Task.CompletedTask;
                }

                status = rpc.StatusCode;

                if (rpc is UnsupportedEncodingException && !httpContext.Response.HasStarted)
                {
                    httpContext.Response.Headers.GrpcAcceptEncoding = GrpcProtocol.IdentityEncoding;
                }

                ResponseStatus.Write(call, rpc.StatusCode, rpc.Status.Detail);
            }
            else if (httpContext.RequestAborted.IsCancellationRequested)
            {
                // The handler saw the client's RST_STREAM (usually as OperationCanceledException).
                ServerLog.CallAborted(Runtime.Logger, Path);
            }
            else
            {
                status = StatusCode.Unknown;
                ServerLog.HandlerThrew(Runtime.Logger, Path, exception);
                ResponseStatus.Write(call, StatusCode.Unknown, "Exception was thrown by handler.");
            }
        }
        finally
        {
            call.ReleaseResources();
            call.RecordEnd(status);
        }

        return Task.CompletedTask;
    }

    /// <summary>Ends a call whose handler succeeded and whose status slot this thread already owns.</summary>
    protected static void WriteOk(ServerCallContext call)
    {
        try
        {
            ResponseStatus.Write(call, StatusCode.OK, null);
        }
        finally
        {
            call.ReleaseResources();
            call.RecordEnd(StatusCode.OK);
        }
    }

    private void EnsureBodySizeLimit(HttpContext httpContext)
    {
        // Kestrel's own request body limit (30 MB by default) must not undercut ours.
        var needed = (long)Runtime.MaxReceiveMessageSize + MessageFraming.HeaderSize;
        if (needed <= 30_000_000)
        {
            return;
        }

        var feature = httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false } && feature.MaxRequestBodySize < needed)
        {
            feature.MaxRequestBodySize = needed;
        }
    }
}
