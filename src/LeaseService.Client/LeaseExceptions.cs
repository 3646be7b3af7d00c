using LeaseService.Rpc;

namespace LeaseService.Client;

/// <summary>A LeaseService call failed; <see cref="RpcException.Status"/> carries the gRPC status.</summary>
public class LeaseServiceException : RpcException
{
    public LeaseServiceException(Status status, Exception? inner = null)
        : base(status, inner)
    {
    }

    public LeaseServiceException()
        : base()
    {
    }

    public LeaseServiceException(string message)
        : base(message)
    {
    }

    public LeaseServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Wraps a wire-level failure in the most specific type for its status.</summary>
    public static LeaseServiceException From(RpcException ex) => ex.StatusCode switch
    {
        StatusCode.NotFound => new LeaseNotFoundException(ex.Status, ex),
        StatusCode.FailedPrecondition => new LeaseConflictException(ex.Status, ex),
        StatusCode.Unavailable => new LeaseUnavailableException(ex.Status, ex),
        StatusCode.InvalidArgument => new LeaseArgumentException(ex.Status, ex),
        StatusCode.Aborted => new LeaseFencedException(ex.Status, ex),
        _ => new LeaseServiceException(ex.Status, ex),
    };
}

/// <summary>NOT_FOUND: no such path, holder or block — e.g. a renewal for a holder whose leases are gone.</summary>
public sealed class LeaseNotFoundException(Status status, Exception? inner = null) : LeaseServiceException(status, inner);

/// <summary>FAILED_PRECONDITION: held by another writer, not the holder, or recovery forbids it; retrying the same call will not help.</summary>
public sealed class LeaseConflictException(Status status, Exception? inner = null) : LeaseServiceException(status, inner);

/// <summary>UNAVAILABLE: transient (recovery in progress, too few DataNodes, server unreachable or shutting down); retry with backoff.</summary>
public sealed class LeaseUnavailableException(Status status, Exception? inner = null) : LeaseServiceException(status, inner);

/// <summary>INVALID_ARGUMENT: the request is malformed whatever the state.</summary>
public sealed class LeaseArgumentException(Status status, Exception? inner = null) : LeaseServiceException(status, inner);

/// <summary>ABORTED: a fencing conflict — the writer's generation stamp or epoch is stale.</summary>
public sealed class LeaseFencedException(Status status, Exception? inner = null) : LeaseServiceException(status, inner);
