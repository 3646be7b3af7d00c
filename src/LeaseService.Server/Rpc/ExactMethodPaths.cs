using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>
/// gRPC method names are case-sensitive (the request path is "/" service "/" method, exactly), but
/// ASP.NET Core routing matches paths without regard to case: "/leases.v1.datanodesimulator/StopDataNode"
/// would reach StopDataNode past every rule that reads the method from the path (the admin-only
/// simulator, a standby's refusal, metric labels). A call whose path names a method in another
/// case is answered UNIMPLEMENTED, as by other gRPC servers, before authentication and everything
/// after it.
/// </summary>
internal static class ExactMethodPaths
{
    public static IApplicationBuilder UseExactGrpcMethodPaths(this IApplicationBuilder app) => app.Use(static (context, next) =>
        context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc
            && context.Request.Path.Value is { } path
            && !string.Equals(path, grpc.Method.FullName, StringComparison.Ordinal)
            && string.Equals(path, grpc.Method.FullName, StringComparison.OrdinalIgnoreCase)
            ? GrpcTrailersOnly.WriteAsync(context, StatusCode.Unimplemented, $"Method is unimplemented: the path's case differs from {grpc.Method.FullName}")
            : next(context));
}
