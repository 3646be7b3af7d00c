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

    private ValueTask<AddLeaseResponse> AddLease(AddLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(_leases.AddLease(request.Holder, request.Path, request.ClientMachine));
        return ValueTask.FromResult(new AddLeaseResponse { Lease = lease.ToContract() });
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

    private ValueTask<RecoverLeaseResponse> RecoverLease(RecoverLeaseRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(_leases.RecoverLease(request.Path, request.Requester, request.Force));
        return ValueTask.FromResult(new RecoverLeaseResponse
        {
            Closed = result.Closed,
            Lease = result.Lease?.ToContract(),
            Length = (ulong)result.Length,
        });
    }

    private ValueTask<GetLeaseResponse> GetLease(GetLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(_leases.GetLease(request.Path));
        return ValueTask.FromResult(new GetLeaseResponse { Lease = lease.ToContract() });
    }

    private ValueTask<ListLeasesResponse> ListLeases(ListLeasesRequest request, ServerCallContext context)
    {
        var page = OutcomeStatus.Unwrap(_leases.ListLeases(request.Holder, request.PathPrefix, request.PageSize, request.PageToken));
        var response = new ListLeasesResponse { NextPageToken = page.NextPageToken };
        foreach (var lease in page.Leases)
        {
            response.Leases.Add(lease.ToContract());
        }

        return ValueTask.FromResult(response);
    }

    private async ValueTask<AddBlockResponse> AddBlock(AddBlockRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.AddBlockAsync(request.Holder, request.Path, context.CancellationToken).ConfigureAwait(false));
        return new AddBlockResponse { Block = result.Block.ToContract(), Epoch = (ulong)result.Epoch };
    }

    private ValueTask<Contracts.V1.FileInfo> GetFile(GetFileRequest request, ServerCallContext context)
        => ValueTask.FromResult(OutcomeStatus.Unwrap(_leases.GetFile(request.Path)).ToContract());
}
