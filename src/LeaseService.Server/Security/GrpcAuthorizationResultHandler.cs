using Grpc.AspNetCore.Server;
using Grpc.Core;
using LeaseService.Server.Rpc;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace LeaseService.Server.Security;

/// <summary>
/// What the authorization middleware answers when an endpoint's policy fails: a gRPC status, not an
/// HTTP one. No valid credentials (or no principal name in them) → UNAUTHENTICATED; an
/// authenticated principal the policy refuses (not an admin) → PERMISSION_DENIED. Both are
/// recorded (<see cref="AccessDenials"/>).
/// </summary>
internal sealed class GrpcAuthorizationResultHandler(AccessDenials denials) : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            return next(context);
        }

        // The endpoint's method, not the request's path: anyone can send any path, and each made-up
        // one would be a new value of the denial metric's method label.
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName ?? "(not a gRPC method)";
        if (authorizeResult.Forbidden && CallerPrincipal.Of(context.User) is not null)
        {
            denials.Record(CallerPrincipal.Of(context.User), method, path: null, holder: null, DenialReason.AdminRequired);
            return GrpcTrailersOnly.WriteAsync(context, StatusCode.PermissionDenied, "this service is for admin principals only (Authorization:Admins)");
        }

        denials.Record(null, method, path: null, holder: null, DenialReason.Unauthenticated);
        return GrpcTrailersOnly.WriteAsync(context, StatusCode.Unauthenticated, "missing or invalid credentials");
    }
}
