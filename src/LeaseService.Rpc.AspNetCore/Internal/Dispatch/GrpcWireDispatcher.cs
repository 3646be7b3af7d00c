using System.Collections.Frozen;
using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Diagnostics;
using LeaseService.Rpc.AspNetCore.Internal.Logging;
using Microsoft.AspNetCore.Http;

namespace LeaseService.Rpc.AspNetCore.Internal.Dispatch;

/// <summary>
/// The terminal middleware: checks that the request is gRPC, then finds the method by <c>:path</c>
/// in a dictionary frozen at start-up. Requests that are not gRPC get an HTTP error (405, 415, 426)
/// that also carries grpc-status 13; unknown paths get 200 Trailers-Only UNIMPLEMENTED without
/// the body being read (Kestrel resets the unread request with NO_ERROR).
/// </summary>
internal sealed class GrpcWireDispatcher(FrozenDictionary<string, ServerMethodInvoker> methods, GrpcServerRuntime runtime)
{
    public Task DispatchAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        var response = httpContext.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            ServerLog.UnsupportedHttpMethod(runtime.Logger, request.Method);
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = HttpMethods.Post;
            ResponseStatus.SetStatus(response.Headers, StatusCode.Internal, $"Request HTTP method '{request.Method}' is not supported.");
            return Task.CompletedTask;
        }

        var contentType = request.ContentType;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            ServerLog.UnsupportedContentType(runtime.Logger, contentType);
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            ResponseStatus.SetStatus(response.Headers, StatusCode.Internal, $"Content-Type '{contentType}' is not supported.");
            return Task.CompletedTask;
        }

        var protocol = request.Protocol;
        if (!HttpProtocol.IsHttp2(protocol) && !HttpProtocol.IsHttp3(protocol))
        {
            ServerLog.UnsupportedProtocol(runtime.Logger, protocol);
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "HTTP/2";
            ResponseStatus.SetStatus(response.Headers, StatusCode.Internal, $"Request protocol '{protocol}' is not supported.");
            return Task.CompletedTask;
        }

        response.ContentType = GrpcProtocol.ContentType;
        var path = request.Path.Value ?? string.Empty;
        if (!methods.TryGetValue(path, out var invoker))
        {
            ServerLog.MethodNotFound(runtime.Logger, path);
            ResponseStatus.SetStatus(response.Headers, StatusCode.Unimplemented, "Method not found: " + path);
            runtime.Metrics.Record(MethodLabels.Unknown, StatusCode.Unimplemented, 0);
            return Task.CompletedTask;
        }

        if (runtime.Lifetime.IsDraining)
        {
            ServerLog.RejectedWhileDraining(runtime.Logger, path);
            ResponseStatus.SetStatus(response.Headers, StatusCode.Unavailable, "Server is shutting down");
            runtime.Metrics.Record(invoker.Labels, StatusCode.Unavailable, 0);
            return Task.CompletedTask;
        }

        return invoker.HandleCallAsync(httpContext);
    }
}
