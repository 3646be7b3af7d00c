using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;

namespace LeaseService.Client;

/// <summary>Settings of a <see cref="LeaseClient"/>; immutable once the client is built.</summary>
public sealed record LeaseClientOptions
{
    /// <summary>Deadline of each call unless the caller cancels first. Default 30 s; InfiniteTimeSpan for none; otherwise above zero.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long opening a connection (TCP and TLS) may take, on the channels the client creates
    /// with its own settings (<see cref="Channel"/> null; settings you bring keep their handler's). A server that cannot be connected in time counts as unreachable: a client of several
    /// replicas tries the next one, for every method (nothing was sent). Default 5 s (without it, a
    /// host that drops packets holds a call until the kernel gives up, minutes later);
    /// InfiniteTimeSpan for none; otherwise above zero.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <summary>The default <see cref="ConnectTimeout"/>, also that of <see cref="LeaseClient.CreateChannelOptions"/>.</summary>
    internal static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Clock for deadlines (tests inject a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Channel settings when the client creates its own channel. When null the client uses
    /// <see cref="LeaseClient.CreateChannelOptions"/>: HTTP/2 keep-alive pings and the retry policy.
    /// </summary>
    public GrpcChannelOptions? Channel { get; init; }

    /// <summary>
    /// A bearer token (a JWT) sent with every call as per-call credentials (<c>authorization:
    /// Bearer …</c>). Use <see cref="BearerTokenProvider"/> for tokens that expire. Tokens go only
    /// over TLS (<c>https://</c>) or to a loopback address.
    /// </summary>
    public string? BearerToken { get; init; }

    /// <summary>
    /// Called before every call for the token to send (refresh it here; cache it yourself, this is
    /// on every call's path); null or empty sends none. Takes precedence over <see cref="BearerToken"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<string?>>? BearerTokenProvider { get; init; }

    /// <summary>
    /// A client certificate with its private key, presented in the TLS handshake (the server's
    /// principal is its subject's CN). Only for channels the client creates (<see cref="LeaseClient.Create(string, LeaseClientOptions?)"/>).
    /// </summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>
    /// The CA the server's certificate must chain to, instead of the system's trust store (a
    /// private CA). Only for channels the client creates (<see cref="LeaseClient.Create(string, LeaseClientOptions?)"/>).
    /// </summary>
    public X509Certificate2? ServerCertificateAuthority { get; init; }

    /// <summary>
    /// A client of several replicas (<see cref="LeaseClient.Create(IEnumerable{string}, LeaseClientOptions?)"/>):
    /// the most attempts one call makes across them, the first included. Default 6; at least 1.
    /// </summary>
    public int FailoverAttempts { get; init; } = 6;

    /// <summary>
    /// A client of several replicas: the wait after a round in which every replica failed, doubled
    /// each further round, with jitter (half to all of it). Default 100 ms; not negative.
    /// </summary>
    public TimeSpan FailoverBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A client of several replicas: the longest wait between rounds. Default 2 s; at least <see cref="FailoverBackoff"/>.</summary>
    public TimeSpan FailoverMaxBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A client of several replicas: how long the first attempt of a read or RenewLease at each
    /// replica may take before the next replica is tried, so a replica that accepts connections but
    /// does not answer (paused, frozen) is passed over within the call, and the renewer reaches the
    /// active replica within its own timeout. A later attempt at the same replica, and the call's
    /// last attempt, have the rest of the call's time, so a slow active still answers. Changes
    /// (AddLease, RemoveLease, …) are never cut short: a change may have been applied, so they
    /// wait for their deadline, after which later calls start at the next replica. Default 1 s; InfiniteTimeSpan for none;
    /// otherwise above zero.
    /// </summary>
    public TimeSpan FailoverAttemptTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when a setting every client uses is out of range.</summary>
    internal void Validate()
    {
        RequirePositiveOrInfinite(CallTimeout, nameof(CallTimeout));
        RequirePositiveOrInfinite(ConnectTimeout, nameof(ConnectTimeout));
    }

    /// <summary>Throws when the failover settings are out of range.</summary>
    internal void ValidateFailover()
    {
        if (FailoverAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(FailoverAttempts), FailoverAttempts, "At least 1.");
        }

        if (FailoverBackoff < TimeSpan.Zero || FailoverMaxBackoff < FailoverBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(FailoverMaxBackoff), FailoverMaxBackoff, $"{nameof(FailoverBackoff)} must not be negative and {nameof(FailoverMaxBackoff)} not below it.");
        }

        RequirePositiveOrInfinite(FailoverAttemptTimeout, nameof(FailoverAttemptTimeout));
    }

    private static void RequirePositiveOrInfinite(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero && value != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, value, "Above zero, or Timeout.InfiniteTimeSpan for none.");
        }
    }

    /// <summary>Whether calls carry a bearer token.</summary>
    internal bool HasBearerToken => BearerTokenProvider is not null || !string.IsNullOrEmpty(BearerToken);
}
