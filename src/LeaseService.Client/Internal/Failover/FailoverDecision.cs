using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace LeaseService.Client.Internal.Failover;

/// <summary>What a failed attempt means for the call.</summary>
internal enum FailoverAction
{
    /// <summary>Surface the failure: it is not about which replica answered, or a retry could apply a change twice.</summary>
    Fail,

    /// <summary>A standby named the active replica (one of the configured addresses): retry there.</summary>
    FollowLeader,

    /// <summary>Nothing was applied (or the call is safe to repeat) and no usable hint: retry at the next address.</summary>
    TryNext,
}

/// <summary>
/// Classifies a failed attempt. Only <c>UNAVAILABLE</c> is ever retried. A refusal that proves
/// nothing was applied — a standby's "not the active replica", a server that is shutting down
/// (refused before the handler), or a connection that was never established — may be retried for
/// every method. Any other <c>UNAVAILABLE</c> (a connection lost mid-call, the active's own
/// "lease recovery in progress" or "storage unavailable") proves nothing: only the methods that are
/// safe to repeat (<see cref="IsSafeToRepeat"/>) are retried.
/// </summary>
internal static class FailoverDecision
{
    /// <summary>The trailer a standby sets to the active replica's advertised URL, when it knows it.</summary>
    public const string LeaderUrlTrailer = "leader-url";

    /// <summary>The status message of a standby's refusal.</summary>
    public const string NotActiveMessage = "not the active replica";

    /// <summary>The status message of a server refusing calls while it stops (before any handler runs).</summary>
    public const string ShuttingDownMessage = "Server is shutting down";

    private static readonly HashSet<string> SafeToRepeat = new(StringComparer.Ordinal)
    {
        "/leases.v1.LeaseService/GetLease",
        "/leases.v1.LeaseService/ListLeases",
        "/leases.v1.LeaseService/GetFile",
        "/leases.v1.LeaseService/RenewLease",
        "/leases.v1.DataNodeSimulator/ListDataNodes",
        "/leases.v1.DataNodeSimulator/ListReplicas",
        "/grpc.health.v1.Health/Check",
    };

    /// <summary>Reads, and RenewLease (renewing twice is renewing): repeating them changes nothing more.</summary>
    public static bool IsSafeToRepeat(string fullMethodName) => SafeToRepeat.Contains(fullMethodName);

    /// <summary>
    /// What to do after <paramref name="failure"/> of <paramref name="fullMethodName"/>;
    /// <paramref name="leader"/> is the configured address a standby named, when it named one.
    /// </summary>
    public static FailoverAction Classify(RpcException failure, string fullMethodName, ReplicaAddresses addresses, out int leader)
    {
        leader = -1;
        if (!LeaseServiceException.IsUnavailable(failure.Status))
        {
            return FailoverAction.Fail;
        }

        if (IsStandbyRefusal(failure))
        {
            var hint = failure.Trailers.GetValue(LeaderUrlTrailer);

            // Only a configured address is followed: a standby cannot send this client (and its
            // bearer token) anywhere else. An unknown or unparsable hint counts as no hint.
            leader = hint is null ? -1 : addresses.IndexOf(hint);
            return leader >= 0 ? FailoverAction.FollowLeader : FailoverAction.TryNext;
        }

        if (string.Equals(failure.Status.Detail, ShuttingDownMessage, StringComparison.Ordinal) || NeverConnected(failure.Status.DebugException))
        {
            return FailoverAction.TryNext;
        }

        return IsSafeToRepeat(fullMethodName) ? FailoverAction.TryNext : FailoverAction.Fail;
    }

    /// <summary>A standby's refusal: <c>UNAVAILABLE</c> "not the active replica", or naming the active in its trailer.</summary>
    public static bool IsStandbyRefusal(RpcException failure)
        => LeaseServiceException.IsUnavailable(failure.Status)
            && (failure.Trailers.GetValue(LeaderUrlTrailer) is not null || string.Equals(failure.Status.Detail, NotActiveMessage, StringComparison.Ordinal));

    /// <summary>
    /// An <c>UNAVAILABLE</c> a replica sent for itself (e.g. "storage unavailable"): not a standby's
    /// refusal, not a server shutting down, not a transport failure (which carries its exception).
    /// </summary>
    public static bool IsOwnAnswer(RpcException failure)
        => LeaseServiceException.IsUnavailable(failure.Status)
            && failure.Status.DebugException is null
            && !IsStandbyRefusal(failure)
            && !string.Equals(failure.Status.Detail, ShuttingDownMessage, StringComparison.Ordinal);

    /// <summary>
    /// Whether the transport failed before a connection existed (refused, unresolvable,
    /// unreachable, not connected within the connect timeout): the request was never sent. A reset or a lost connection is not this.
    /// </summary>
    internal static bool NeverConnected(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError }:
                    return true;
                case TimeoutException:
                    // The connect timeout (Grpc.Net.Client's subchannel: "A connection could not be
                    // established within the configured ConnectTimeout"); a call's own time running
                    // out is DEADLINE_EXCEEDED, not UNAVAILABLE.
                    return true;
                case SocketException socket when socket.SocketErrorCode is SocketError.ConnectionRefused or SocketError.HostNotFound
                    or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TryAgain or SocketError.NoData
                    or SocketError.AddressNotAvailable:
                    return true;
            }
        }

        return false;
    }
}
