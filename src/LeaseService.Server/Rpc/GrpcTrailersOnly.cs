using System.Globalization;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>A gRPC status answered by middleware, before any service code: a trailers-only response.</summary>
internal static class GrpcTrailersOnly
{
    /// <summary>HTTP 200 with the status in its only headers, as a gRPC server answers a call it refuses at once.</summary>
    public static Task WriteAsync(HttpContext context, StatusCode status, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }
}
