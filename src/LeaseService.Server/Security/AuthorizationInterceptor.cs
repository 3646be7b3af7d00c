using Grpc.Core;
using Grpc.Core.Interceptors;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using Microsoft.AspNetCore.Authorization;

namespace LeaseService.Server.Security;

/// <summary>
/// The authorization rules that need the request (registered only with authentication on):
/// RecoverLease with <c>force</c> needs the admin policy, every DataNodeSimulator method but
/// WriteBlock needs it too (WriteBlock is the writers' data path: the core lets only the owner of
/// the block's file write, like an HDFS block access token), AddLease needs the path-rule policy
/// (all through <see cref="IAuthorizationService"/>), so does DeleteFile (write access to the path,
/// as HDFS delete needs; both only for a valid path, so bad input gets INVALID_ARGUMENT from the
/// core whoever sends it), and a PERMISSION_DENIED from the core's
/// ownership rules is recorded. A refusal here happens before the handler: nothing changes.
/// </summary>
internal sealed class AuthorizationInterceptor(IAuthorizationService authorization, AccessDenials denials, SecuritySettings settings) : Interceptor
{
    private const string SimulatorPrefix = "/leases.v1.DataNodeSimulator/";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request,
        ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var user = context.GetHttpContext().User;
        switch (request)
        {
            case RecoverLeaseRequest { Force: true } recover
                when !(await authorization.AuthorizeAsync(user, SecuritySetup.AdminPolicy).ConfigureAwait(false)).Succeeded:
                throw Deny(context, recover.Path, recover.Requester, DenialReason.ForceRequiresAdmin, "force recovery is for admin principals only (Authorization:Admins)");
            case not WriteBlockRequest
                when context.Method.StartsWith(SimulatorPrefix, StringComparison.Ordinal)
                    && !(await authorization.AuthorizeAsync(user, SecuritySetup.AdminPolicy).ConfigureAwait(false)).Succeeded:
                throw Deny(context, string.Empty, null, DenialReason.AdminRequired, "this service is for admin principals only (Authorization:Admins); its WriteBlock is open to the writer that owns the block's file");
            // Only a valid path is held against the rules; the handler answers any other INVALID_ARGUMENT.
            case AddLeaseRequest add
                when settings.PathRules.Count > 0 && LeaseValidation.CheckPath(add.Path) is null
                    && !(await authorization.AuthorizeAsync(user, add.Path, SecuritySetup.OpenPathPolicy).ConfigureAwait(false)).Succeeded:
                throw Deny(context, add.Path, add.Holder, DenialReason.PathRule, $"{CallerPrincipal.Of(context)} may not open files at {LeaseValidation.Echo(add.Path)} (Authorization:PathRules)");
            case DeleteFileRequest delete
                when settings.PathRules.Count > 0 && LeaseValidation.CheckPath(delete.Path) is null
                    && !(await authorization.AuthorizeAsync(user, delete.Path, SecuritySetup.OpenPathPolicy).ConfigureAwait(false)).Succeeded:
                throw Deny(context, delete.Path, null, DenialReason.PathRule, $"{CallerPrincipal.Of(context)} may not delete files at {LeaseValidation.Echo(delete.Path)} (Authorization:PathRules)");
        }

        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
        {
            // The core's ownership rule, decided under its lock with the operation.
            var (path, holder) = Target(request);
            denials.Record(CallerPrincipal.Of(context), context.Method, path, holder, DenialReason.HolderOwnedByAnother);
            throw;
        }
    }

    private RpcException Deny(ServerCallContext context, string path, string? holder, string reason, string message)
    {
        denials.Record(CallerPrincipal.Of(context), context.Method, path, holder, reason);
        return new RpcException(new Status(StatusCode.PermissionDenied, message));
    }

    private static (string? Path, string? Holder) Target(object request) => request switch
    {
        AddLeaseRequest r => (r.Path, r.Holder),
        RenewLeaseRequest r => (null, r.Holder),
        RemoveLeaseRequest r => (r.Path, r.Holder),
        AddBlockRequest r => (r.Path, r.Holder),
        WriteBlockRequest r => ($"block {r.BlockId}", null),
        RecoverLeaseRequest r => (r.Path, r.Requester),
        DeleteFileRequest r => (r.Path, null),
        _ => (null, null),
    };
}
