using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using LeaseServiceBase = LeaseService.Contracts.V1.LeaseService.LeaseServiceBase;

namespace LeaseService.Server.Rpc;

/// <summary>
/// <c>leases.v1.LeaseService</c>: translates messages to <see cref="LeaseManager"/> calls and
/// outcomes back (<see cref="OutcomeStatus"/>). No lease logic lives here.
/// </summary>
internal sealed class LeaseRpcService : LeaseServiceBase
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

    public override Task<AddLeaseResponse> AddLease(AddLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(_leases.AddLease(request.Holder, request.Path, request.ClientMachine));
        return Task.FromResult(new AddLeaseResponse { Lease = lease.ToContract() });
    }

    public override Task<RenewLeaseResponse> RenewLease(RenewLeaseRequest request, ServerCallContext context)
    {
        var renewed = OutcomeStatus.Unwrap(_leases.RenewLease(request.Holder));
        return Task.FromResult(new RenewLeaseResponse { LeasesRenewed = renewed, SoftLimit = _softLimit, HardLimit = _hardLimit });
    }

    public override async Task<RemoveLeaseResponse> RemoveLease(RemoveLeaseRequest request, ServerCallContext context)
    {
        var closed = OutcomeStatus.Unwrap(await _leases.RemoveLeaseAsync(request.Holder, request.Path, context.CancellationToken).ConfigureAwait(false));
        return new RemoveLeaseResponse { Closed = closed };
    }

    public override Task<RecoverLeaseResponse> RecoverLease(RecoverLeaseRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(_leases.RecoverLease(request.Path, request.Requester, request.Force));
        return Task.FromResult(new RecoverLeaseResponse
        {
            Closed = result.Closed,
            Lease = result.Lease?.ToContract(),
            Length = (ulong)result.Length,
        });
    }

    public override Task<GetLeaseResponse> GetLease(GetLeaseRequest request, ServerCallContext context)
    {
        var lease = OutcomeStatus.Unwrap(_leases.GetLease(request.Path));
        return Task.FromResult(new GetLeaseResponse { Lease = lease.ToContract() });
    }

    public override Task<ListLeasesResponse> ListLeases(ListLeasesRequest request, ServerCallContext context)
    {
        var page = OutcomeStatus.Unwrap(_leases.ListLeases(request.Holder, request.PathPrefix, request.PageSize, request.PageToken));
        var response = new ListLeasesResponse { NextPageToken = page.NextPageToken };
        foreach (var lease in page.Leases)
        {
            response.Leases.Add(lease.ToContract());
        }

        return Task.FromResult(response);
    }

    public override async Task<AddBlockResponse> AddBlock(AddBlockRequest request, ServerCallContext context)
    {
        var result = OutcomeStatus.Unwrap(await _leases.AddBlockAsync(request.Holder, request.Path, context.CancellationToken).ConfigureAwait(false));
        return new AddBlockResponse { Block = result.Block.ToContract(), Epoch = (ulong)result.Epoch };
    }

    public override Task<Contracts.V1.FileInfo> GetFile(GetFileRequest request, ServerCallContext context)
        => Task.FromResult(OutcomeStatus.Unwrap(_leases.GetFile(request.Path)).ToContract());
}
