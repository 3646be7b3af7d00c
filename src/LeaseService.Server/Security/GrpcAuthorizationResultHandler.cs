using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace LeaseService.Server.Security;

/// <summary>
/// What the authorization middleware answers when an endpoint's policy fails: a gRPC status, not an
/// HTTP one. No valid credentials → UNAUTHENTICATED; an authenticated principal the policy refuses
/// (not an admin) → PERMISSION_DENIED. Both are recorded (<see cref="AccessDenials"/>).
/// </summary>
internal sealed class GrpcAuthorizationResultHandler(AccessDenials denials) : IAuthorizationMiddlewareResultHandler
{
    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            return next(context);
        }

        var method = context.Request.Path.Value ?? string.Empty;
        if (authorizeResult.Forbidden)
        {
            denials.Record(CallerPrincipal.Of(context.User), method, path: null, holder: null, DenialReason.AdminRequired);
            return WriteStatus(context, StatusCode.PermissionDenied, "this service is for admin principals only (Authorization:Admins)");
        }

        denials.Record(null, method, path: null, holder: null, DenialReason.Unauthenticated);
        return WriteStatus(context, StatusCode.Unauthenticated, "missing or invalid credentials");
    }

    /// <summary>A trailers-only gRPC response: HTTP 200 with the status in its only headers.</summary>
    private static Task WriteStatus(HttpContext context, StatusCode status, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }
}
