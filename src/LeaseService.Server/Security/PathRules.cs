using Microsoft.AspNetCore.Authorization;

namespace LeaseService.Server.Security;

/// <summary>The path being opened lies under one of the principal's <c>Authorization:PathRules</c> prefixes (or it has none).</summary>
internal sealed class PathRuleRequirement : IAuthorizationRequirement;

/// <summary>Evaluates <see cref="PathRuleRequirement"/> with the path as the resource.</summary>
internal sealed class PathRuleHandler(SecuritySettings settings) : AuthorizationHandler<PathRuleRequirement, string>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, PathRuleRequirement requirement, string resource)
    {
        if (CallerPrincipal.Of(context.User) is { } principal && settings.PathAllowed(principal, resource))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}
