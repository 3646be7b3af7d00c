using LeaseService.Core;
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

        throw new RpcException(new Status(ToStatusCode(outcome.Kind), outcome.Message));
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
}
