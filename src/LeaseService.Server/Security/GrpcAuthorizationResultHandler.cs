using Grpc.AspNetCore.Server;
using Grpc.Core;
using LeaseService.Server.Rpc;
using Microsoft.AspNetCore.Authentication;
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
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        // The endpoint's method, not the request's path: anyone can send any path, and each made-up
        // one would be a new value of the denial metric's method label.
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName ?? "(not a gRPC method)";
        if (authorizeResult.Forbidden && CallerPrincipal.Of(context.User) is not null)
        {
            denials.Record(CallerPrincipal.Of(context.User), method, path: null, holder: null, DenialReason.AdminRequired);
            await GrpcTrailersOnly.WriteAsync(context, StatusCode.PermissionDenied, "this service is for admin principals only (Authorization:Admins)").ConfigureAwait(false);
            return;
        }

        // Why, for the operator's log only: the handler's own result, cached for this request (an
        // unreachable token issuer reads as "no keys", an expired token as expired, and so on).
        var authentication = await context.AuthenticateAsync().ConfigureAwait(false);
        denials.Record(null, method, path: null, holder: null, DenialReason.Unauthenticated, authentication.Failure?.Message);
        await GrpcTrailersOnly.WriteAsync(context, StatusCode.Unauthenticated, "missing or invalid credentials").ConfigureAwait(false);
    }
}
