namespace LeaseService.Rpc.Client;

/// <summary>Per-call settings.</summary>
/// <param name="Deadline">
/// When the call must be finished, in UTC (a local time is converted; an unspecified kind is taken
/// as UTC). <c>null</c> or <see cref="DateTime.MaxValue"/> means no deadline. A deadline already
/// passed fails the call with DEADLINE_EXCEEDED without sending anything.
/// </param>
/// <param name="CancellationToken">Cancels the call (RST_STREAM CANCEL); the call fails with CANCELLED.</param>
/// <param name="Headers">
/// Custom metadata. Names are <c>[0-9a-z_.-]</c> (upper case is sent lower case); names reserved by
/// HTTP/2 or gRPC (<c>te</c>, <c>content-type</c>, <c>user-agent</c>, <c>grpc-*</c>, ...) are rejected.
/// Values are printable ASCII; a <c>-bin</c> value must already be base64.
/// </param>
#pragma warning disable CA1068 // The order callers know from Grpc.Core's CallOptions; the typed client is built on it.
public readonly record struct CallOptions(
    DateTime? Deadline = null,
    CancellationToken CancellationToken = default,
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null);
#pragma warning restore CA1068
