namespace LeaseService.Client.Renewal.Internal;

/// <summary>One renewal's answer: how many paths the server renewed, and its limits.</summary>
internal readonly record struct RenewResult(int LeasesRenewed, TimeSpan SoftLimit, TimeSpan HardLimit);

/// <summary>
/// What the renewer needs from the server. Failures throw: <see cref="LeaseNotFoundException"/>
/// means the holder holds nothing; anything else is retried.
/// </summary>
internal interface IRenewalTransport : IDisposable
{
    Task<RenewResult> RenewAsync(string holder, CancellationToken cancellationToken);

    /// <summary>The paths the server lists under <paramref name="holder"/>.</summary>
    Task<IReadOnlySet<string>> ListHeldPathsAsync(string holder, CancellationToken cancellationToken);
}
