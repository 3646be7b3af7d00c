using System.Security.Claims;
using Grpc.Core;

namespace LeaseService.Server.Security;

/// <summary>
/// The principal of a call as the core knows it: the authenticated name (<c>sub</c> or the
/// certificate's CN), or null without authentication (nothing is checked then).
/// </summary>
internal static class CallerPrincipal
{
    public static string? Of(ServerCallContext context) => Of(context.GetHttpContext().User);

    public static string? Of(ClaimsPrincipal? user)
        => user?.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? name : null;
}
