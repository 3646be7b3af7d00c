using Google.Protobuf.WellKnownTypes;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseService.Rpc.AspNetCore;

namespace LeaseService.Server.Rpc;

/// <summary>
/// <c>leases.v1.LeaseService</c>: translates messages to <see cref="LeaseManager"/> calls and
/// outcomes back. No lease logic lives here.
/// </summary>
internal sealed class LeaseRpcService
{
    private readonly LeaseManager _leases;
    private readonly Duration _softLimit;
    private readonly Duration _hardLimit;

    public LeaseRpcService(LeaseManager leases)
    {
        _leases = leases;

        // Shared, never mutated after construction: serialization only reads them.
        _softLimit = Duration.FromTimeSpan(leases.Options.SoftLimit);
        _hardLimit = Duration.FromTimeSpan(leases.Options.HardLimit);
    }

    public void Register(GrpcMethodRegistry registry) => registry
        .AddUnary(LeaseServiceMethods.AddLease, AddLease)
        .AddUnary(LeaseServiceMethods.RenewLease, RenewLease)
        .AddUnary(LeaseServiceMethods.RemoveLease, RemoveLease)
        .AddUnary(LeaseServiceMethods.RecoverLease, RecoverLease)
        .AddUnary(LeaseServiceMethods.GetLease, GetLease)
        .AddUnary(LeaseServiceMethods.ListLeases, ListLeases)
        .AddUnary(LeaseServiceMethods.AddBlock, AddBlock)
        .AddUnary(LeaseServiceMethods.GetFile, GetFile);

    private async ValueTask<AddLeaseResponse> AddLease(AddLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(await _leases.AddLeaseAsync(request.Holder, request.Path, request.ClientMachine).ConfigureAwait(false));
        return new AddLeaseResponse { Lease = lease.ToContract() };
    }

    private ValueTask<RenewLeaseResponse> RenewLease(RenewLeaseRequest request, ServerCallContext context)
    {
        var renewed = OutcomeStatus.Unwrap(_leases.RenewLease(request.Holder));
        return ValueTask.FromResult(new RenewLeaseResponse { LeasesRenewed = renewed, SoftLimit = _softLimit, HardLimit = _hardLimit });
    }

    private async ValueTask<RemoveLeaseResponse> RemoveLease(RemoveLeaseRequest request, ServerCallContext context)
    {
        var closed = OutcomeStatus.Unwrap(await _leases.RemoveLeaseAsync(request.Holder, request.Path, context.CancellationToken).ConfigureAwait(false));
        return new RemoveLeaseResponse { Closed = closed };
    }

    private async ValueTask<RecoverLeaseResponse> RecoverLease(RecoverLeaseRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.RecoverLeaseAsync(request.Path, request.Requester, request.Force).ConfigureAwait(false));
        return new RecoverLeaseResponse
        {
            Closed = result.Closed,
            Lease = result.Lease?.ToContract(),
            Length = (ulong)result.Length,
        };
    }

    private async ValueTask<GetLeaseResponse> GetLease(GetLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(await _leases.GetLeaseAsync(request.Path).ConfigureAwait(false));
        return new GetLeaseResponse { Lease = lease.ToContract() };
    }

    private async ValueTask<ListLeasesResponse> ListLeases(ListLeasesRequest request, ServerCallContext context)
    {
        var page = OutcomeStatus.Unwrap(await _leases.ListLeasesAsync(request.Holder, request.PathPrefix, request.PageSize, request.PageToken).ConfigureAwait(false));
        var response = new ListLeasesResponse { NextPageToken = page.NextPageToken };
        foreach (var lease in page.Leases)
        {
            response.Leases.Add(lease.ToContract());
        }

        return response;
    }

    private async ValueTask<AddBlockResponse> AddBlock(AddBlockRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.AddBlockAsync(request.Holder, request.Path, context.CancellationToken).ConfigureAwait(false));
        return new AddBlockResponse { Block = result.Block.ToContract(), Epoch = (ulong)result.Epoch };
    }

    private async ValueTask<Contracts.V1.FileInfo> GetFile(GetFileRequest request, ServerCallContext context)
        => OutcomeStatus.Unwrap(await _leases.GetFileAsync(request.Path).ConfigureAwait(false)).ToContract();
}
