using Grpc.Core;

namespace LeaseService.Client;

/// <summary>
/// A LeaseService call failed; <see cref="RpcException.Status"/> carries the gRPC status (its
/// <see cref="Status.DebugException"/> the transport failure, if any) and
/// <see cref="RpcException.Trailers"/> the server's trailers.
/// </summary>
#pragma warning disable CA1032 // RpcException has no parameterless or message-only constructor: a status is always required.
public class LeaseServiceException(Status status, Metadata? trailers = null) : RpcException(status, trailers ?? Metadata.Empty)
#pragma warning restore CA1032
{
    /// <summary>Wraps a failed call in the most specific type for its status.</summary>
    public static LeaseServiceException From(RpcException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        if (IsUnavailable(ex.Status))
        {
            return new LeaseUnavailableException(ex.Status, ex.Trailers);
        }

        return ex.StatusCode switch
        {
            StatusCode.NotFound => new LeaseNotFoundException(ex.Status, ex.Trailers),
            StatusCode.FailedPrecondition => new LeaseConflictException(ex.Status, ex.Trailers),
            StatusCode.InvalidArgument => new LeaseArgumentException(ex.Status, ex.Trailers),
            StatusCode.Aborted => new LeaseFencedException(ex.Status, ex.Trailers),
            _ => new LeaseServiceException(ex.Status, ex.Trailers),
        };
    }

    /// <summary>
    /// Whether the call failed as UNAVAILABLE: transient, its outcome unknown. That includes the
    /// server closing its HTTP/2 connection gracefully (GOAWAY with NO_ERROR, as a server stopping
    /// or restarting does), which Grpc.Net.Client reports as INTERNAL, following the HTTP/2
    /// error-code mapping, though to a caller it is the server going away.
    /// </summary>
    internal static bool IsUnavailable(Status status)
        => status.StatusCode == StatusCode.Unavailable || (status.StatusCode == StatusCode.Internal && ClosedByServer(status));

    private static bool ClosedByServer(Status status)
    {
        for (var e = status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: 0 })
            {
                return true;
            }
        }

        return false;
    }
}

#pragma warning disable CA1032
/// <summary>NOT_FOUND: no such path, holder or block — e.g. a renewal for a holder whose leases are gone.</summary>
public sealed class LeaseNotFoundException(Status status, Metadata? trailers = null) : LeaseServiceException(status, trailers);

/// <summary>FAILED_PRECONDITION: held by another writer, not the holder, or recovery forbids it; retrying the same call will not help.</summary>
public sealed class LeaseConflictException(Status status, Metadata? trailers = null) : LeaseServiceException(status, trailers);

/// <summary>UNAVAILABLE: transient (recovery in progress, too few DataNodes, server unreachable or shutting down); retry with backoff.</summary>
public sealed class LeaseUnavailableException(Status status, Metadata? trailers = null) : LeaseServiceException(status, trailers);

/// <summary>INVALID_ARGUMENT: the request is malformed whatever the state.</summary>
public sealed class LeaseArgumentException(Status status, Metadata? trailers = null) : LeaseServiceException(status, trailers);

/// <summary>ABORTED: a fencing conflict — the writer's generation stamp or epoch is stale.</summary>
public sealed class LeaseFencedException(Status status, Metadata? trailers = null) : LeaseServiceException(status, trailers);
#pragma warning restore CA1032
