using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>
/// A gRPC method's path is "/" service "/" method, exactly (case-sensitive, nothing after it), but
/// ASP.NET Core routing also matches it in another case and with a trailing slash:
/// "/leases.v1.datanodesimulator/StopDataNode/" would reach StopDataNode past every rule that
/// reads the method from the path (the admin-only simulator, a standby's refusal, metric labels).
/// A call routed to a gRPC method whose path is not exactly that method's is answered
/// UNIMPLEMENTED, as by other gRPC servers, before authentication and everything after it.
/// </summary>
internal static class ExactMethodPaths
{
    public static IApplicationBuilder UseExactGrpcMethodPaths(this IApplicationBuilder app) => app.Use(static (context, next) =>
        context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc
            && !string.Equals(context.Request.Path.Value, grpc.Method.FullName, StringComparison.Ordinal)
            ? GrpcTrailersOnly.WriteAsync(context, StatusCode.Unimplemented, "Method is unimplemented: the request path does not name a method exactly (gRPC method names are case-sensitive)")
            : next(context));
}
