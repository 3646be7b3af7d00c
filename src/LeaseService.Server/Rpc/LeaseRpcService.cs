using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Server.Security;
using LeaseServiceBase = LeaseService.Contracts.V1.LeaseService.LeaseServiceBase;

namespace LeaseService.Server.Rpc;

/// <summary>
/// <c>leases.v1.LeaseService</c>: translates messages to <see cref="LeaseManager"/> calls and
/// outcomes back (<see cref="OutcomeStatus"/>). No lease logic lives here. Changes answer once
/// their records are durable; RenewLease is never persisted and answers at once. The caller's
/// principal (<see cref="CallerPrincipal"/>; null without authentication) goes to the core, which
/// applies the ownership rule; a caller that is not an admin lists only the holders it owns.
/// </summary>
[BindServiceMethod(typeof(Utf8ValidatedBinding<LeaseServiceBase>), nameof(Utf8ValidatedBinding<LeaseServiceBase>.BindService))] // Strings must be valid UTF-8.
internal sealed class LeaseRpcService : LeaseServiceBase
{
    private readonly LeaseManager _leases;
    private readonly SecuritySettings _security;
    private readonly Duration _softLimit;
    private readonly Duration _hardLimit;

    public LeaseRpcService(LeaseManager leases, SecuritySettings security)
    {
        _leases = leases;
        _security = security;

        // Shared, never mutated after construction: serialization only reads them.
        _softLimit = Duration.FromTimeSpan(leases.Options.SoftLimit);
        _hardLimit = Duration.FromTimeSpan(leases.Options.HardLimit);
    }

    public override async Task<AddLeaseResponse> AddLease(AddLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(await _leases.AddLeaseAsync(request.Holder, request.Path, request.ClientMachine, CallerPrincipal.Of(context)).ConfigureAwait(false));
        return new AddLeaseResponse { Lease = lease.ToContract() };
    }

    public override Task<RenewLeaseResponse> RenewLease(RenewLeaseRequest request, ServerCallContext context)
    {
        // Answered at once (no I/O) except the refusals, which wait for the changes they name.
        var pending = _leases.RenewLeaseAsync(request.Holder, CallerPrincipal.Of(context));
        return pending.IsCompletedSuccessfully ? Task.FromResult(Respond(pending.Result)) : RespondLaterAsync(pending);

        async Task<RenewLeaseResponse> RespondLaterAsync(ValueTask<Outcome<int>> later) => Respond(await later.ConfigureAwait(false));
    }

    private RenewLeaseResponse Respond(Outcome<int> renewed)
        => new() { LeasesRenewed = OutcomeStatus.Unwrap(renewed), SoftLimit = _softLimit, HardLimit = _hardLimit };

    public override async Task<RemoveLeaseResponse> RemoveLease(RemoveLeaseRequest request, ServerCallContext context)
    {
        var closed = OutcomeStatus.Unwrap(await _leases.RemoveLeaseAsync(request.Holder, request.Path, CallerPrincipal.Of(context), context.CancellationToken).ConfigureAwait(false));
        return new RemoveLeaseResponse { Closed = closed };
    }

    public override async Task<RecoverLeaseResponse> RecoverLease(RecoverLeaseRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.RecoverLeaseAsync(request.Path, request.Requester, request.Force, CallerPrincipal.Of(context)).ConfigureAwait(false));
        return new RecoverLeaseResponse
        {
            Closed = result.Closed,
            Lease = result.Lease?.ToContract(),
            Length = (ulong)result.Length,
        };
    }

    public override async Task<GetLeaseResponse> GetLease(GetLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(await _leases.GetLeaseAsync(request.Path).ConfigureAwait(false));
        return new GetLeaseResponse { Lease = lease.ToContract() };
    }

    public override async Task<ListLeasesResponse> ListLeases(ListLeasesRequest request, ServerCallContext context)
    {
        var principal = CallerPrincipal.Of(context);
        var owner = principal is null || _security.IsAdmin(principal) ? null : principal;
        var page = OutcomeStatus.Unwrap(await _leases.ListLeasesAsync(request.Holder, request.PathPrefix, request.PageSize, request.PageToken, owner).ConfigureAwait(false));
        var response = new ListLeasesResponse { NextPageToken = page.NextPageToken };
        foreach (var lease in page.Leases)
        {
            response.Leases.Add(lease.ToContract());
        }

        return response;
    }

    public override async Task<AddBlockResponse> AddBlock(AddBlockRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.AddBlockAsync(request.Holder, request.Path, CallerPrincipal.Of(context), context.CancellationToken).ConfigureAwait(false));
        return new AddBlockResponse { Block = result.Block.ToContract(), Epoch = (ulong)result.Epoch };
    }

    public override async Task<DeleteFileResponse> DeleteFile(DeleteFileRequest request, ServerCallContext context)
    {
        // Admins may delete any file; another principal may not delete a file open for write by a
        // holder someone else owns (the core decides, under its lock). Path rules: the interceptor.
        var principal = CallerPrincipal.Of(context);
        var owner = principal is null || _security.IsAdmin(principal) ? null : principal;
        var result = OutcomeStatus.Unwrap(await _leases.DeleteFileAsync(request.Path, owner).ConfigureAwait(false));
        return new DeleteFileResponse { Holder = result.Holder };
    }

    public override async Task<Contracts.V1.FileInfo> GetFile(GetFileRequest request, ServerCallContext context)
        => OutcomeStatus.Unwrap(await _leases.GetFileAsync(request.Path).ConfigureAwait(false)).ToContract();
}
