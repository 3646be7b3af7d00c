namespace LeaseService.Shared;

/// <summary>
/// The refusal of a server that is loading its state (an etcd replica just elected, or any
/// manager before its load completed): <c>UNAVAILABLE</c> with <see cref="Message"/> and the
/// trailer <see cref="NotAppliedTrailer"/> = <see cref="LoadingReason"/>. It is given before the
/// call decides anything, so nothing was applied and the call may be repeated at the same server,
/// whatever the method. Linked into the core (which words the refusal), the server (which marks
/// it on the wire) and the client (which repeats the call); the wire contract is in
/// docs/SEMANTICS.md ("Loading").
/// </summary>
internal static class LoadingRefusal
{
    /// <summary>The status message; servers from before the trailer send it alone.</summary>
    public const string Message = "storage unavailable: the service is loading its state; retry";

    /// <summary>
    /// The trailer a server sets on an <c>UNAVAILABLE</c> refusal given before the call changed
    /// anything; its value says why (<see cref="LoadingReason"/>).
    /// </summary>
    public const string NotAppliedTrailer = "lease-not-applied";

    /// <summary>The value of <see cref="NotAppliedTrailer"/> while the server loads its state: repeat the call at the same server after a backoff.</summary>
    public const string LoadingReason = "loading";
}
