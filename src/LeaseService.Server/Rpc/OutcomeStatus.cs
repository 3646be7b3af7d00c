using LeaseService.Core;
using LeaseService.Shared;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>The one place where domain outcomes become gRPC status codes.</summary>
internal static class OutcomeStatus
{
    public static T Unwrap<T>(in Outcome<T> outcome)
    {
        if (outcome.IsOk)
        {
            return outcome.Value;
        }

        throw new RpcException(new Status(ToStatusCode(outcome.Kind), outcome.Message), TrailersOf(outcome.Kind, outcome.Message));
    }

    public static StatusCode ToStatusCode(OutcomeKind kind) => kind switch
    {
        OutcomeKind.InvalidArgument => StatusCode.InvalidArgument,
        OutcomeKind.NotFound => StatusCode.NotFound,
        OutcomeKind.FailedPrecondition => StatusCode.FailedPrecondition,
        OutcomeKind.Unavailable => StatusCode.Unavailable,
        OutcomeKind.Aborted => StatusCode.Aborted,
        OutcomeKind.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Unknown,
    };

    /// <summary>
    /// The refusal of a manager still loading its state (given before anything is decided) carries
    /// <see cref="LoadingRefusal.NotAppliedTrailer"/>, so any client can repeat it whatever the
    /// method; every other failure carries none. The message must be the refusal itself: a failure
    /// that only quotes it (a WriteBlock whose bytes reached the DataNodes before the state could
    /// be checked again) may have changed something.
    /// </summary>
    private static Metadata TrailersOf(OutcomeKind kind, string message)
        => kind == OutcomeKind.Unavailable && string.Equals(message, LoadingRefusal.Message, StringComparison.Ordinal)
            ? new Metadata { { LoadingRefusal.NotAppliedTrailer, LoadingRefusal.LoadingReason } } // Per call: whoever handles the exception may add to it.
            : Metadata.Empty;
}
