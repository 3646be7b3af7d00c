using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using LeaseService.Client.Internal.Failover;
using LeaseService.Client.Internal.Retry;
using LeaseService.Contracts.V1;
using LeaseService.Shared;
using DataNodeSimulatorClient = LeaseService.Contracts.V1.DataNodeSimulator.DataNodeSimulatorClient;
using HealthClient = Grpc.Health.V1.Health.HealthClient;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

namespace LeaseService.Client;

/// <summary>
/// Typed client of <c>leases.v1.LeaseService</c> (and the health service) over Grpc.Net.Client.
/// Thread-safe; share one per server (or replica set). Build it from an address or several replicas'
/// addresses (<see cref="Create(string, LeaseClientOptions?)"/>, <see cref="Create(IEnumerable{string}, LeaseClientOptions?)"/>), an existing
/// <see cref="GrpcChannel"/> or any <see cref="CallInvoker"/> (interceptors, TLS, handlers are the
/// caller's), or register it with DI (<see cref="LeaseClientServiceCollectionExtensions"/>).
/// Failures throw <see cref="LeaseServiceException"/> subtypes carrying the status.
/// </summary>
public sealed class LeaseClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly FailoverCallInvoker? _failover;
    private readonly LeaseClientOptions _options;
    private readonly LeaseServiceClient _leases;
    private readonly DataNodeSimulatorClient _simulator;
    private readonly HealthClient _health;
    private readonly CallCredentials? _credentials;

    /// <summary>
    /// A client over <paramref name="callInvoker"/>, which the caller keeps owning. Like every
    /// client, it repeats a call the server refused because it is loading its state (see
    /// <see cref="CallInvoker"/>).
    /// </summary>
    /// <param name="callInvoker">How calls are made: a channel's invoker, possibly intercepted.</param>
    /// <param name="address">The server's address, used to key renewers; null when unknown.</param>
    /// <param name="options">Deadlines and clock.</param>
    public LeaseClient(CallInvoker callInvoker, Uri? address = null, LeaseClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(callInvoker);
        Address = address;
        Addresses = address is null ? [] : [address];
        _options = options ?? new LeaseClientOptions();
        _options.Validate();
        CallInvoker = new LoadingRetryCallInvoker(callInvoker, LoadingRetryPolicy.Default, _options.TimeProvider);
        _leases = new LeaseServiceClient(CallInvoker);
        _simulator = new DataNodeSimulatorClient(CallInvoker);
        _health = new HealthClient(CallInvoker);
        _credentials = BearerCredentials(_options);
    }

    /// <summary>A client over an existing channel, which the caller keeps owning.</summary>
    public LeaseClient(GrpcChannel channel, LeaseClientOptions? options = null)
        : this((channel ?? throw new ArgumentNullException(nameof(channel))).CreateCallInvoker(), new Uri(channel.Target.Contains("://", StringComparison.Ordinal) ? channel.Target : "http://" + channel.Target), options)
    {
    }

    private LeaseClient(GrpcChannel channel, Uri address, LeaseClientOptions options)
        : this(channel.CreateCallInvoker(), address, options)
    {
        _ownedChannel = channel;
    }

    private LeaseClient(FailoverCallInvoker failover, ReplicaAddresses addresses, LeaseClientOptions options)
        : this(failover, addresses[0], options)
    {
        _failover = failover;
        Addresses = addresses.All;
    }

    /// <summary>The trailer with which a standby replica names the active one (its advertised URL) when it refuses a call.</summary>
    public const string LeaderUrlTrailer = FailoverDecision.LeaderUrlTrailer;

    /// <summary>
    /// The trailer a server sets on an <c>UNAVAILABLE</c> refusal given before the call changed
    /// anything; its value says why (<see cref="LoadingReason"/>).
    /// </summary>
    public const string NotAppliedTrailer = LoadingRefusal.NotAppliedTrailer;

    /// <summary>The value of <see cref="NotAppliedTrailer"/> while the server loads its state: the client repeats the call there.</summary>
    public const string LoadingReason = LoadingRefusal.LoadingReason;

    /// <summary>
    /// The server address, when the client knows it (built from an address or a channel); for a
    /// client of several replicas, the first configured one, which also keys its renewers
    /// (<see cref="Renewal.LeaseRenewerFactory"/>).
    /// </summary>
    public Uri? Address { get; }

    /// <summary>Every configured address (scheme, host and port), in order; one for a single server, empty when unknown.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>
    /// The replica calls go to now (for a client of several replicas: the one that last answered,
    /// or that a standby named); otherwise <see cref="Address"/>.
    /// </summary>
    public Uri? ActiveAddress => _failover?.Active ?? Address;

    /// <summary>
    /// The invoker every call goes through, for other services on the same server. It repeats a
    /// unary call refused with <c>UNAVAILABLE</c> because the server is loading its state (trailer
    /// <see cref="NotAppliedTrailer"/> = <see cref="LoadingReason"/>, or that refusal's message from
    /// an older server), for every method: nothing was applied. Waits 100 ms doubling to at most
    /// 1 s, with jitter, between attempts, within the call's deadline and cancellation (a call
    /// without a deadline: 30 s); then the refusal is the call's failure. Other failures are not
    /// repeated here (see <see cref="Create(string, LeaseClientOptions?)"/> and
    /// <see cref="Create(IEnumerable{string}, LeaseClientOptions?)"/> for what is).
    /// </summary>
    public CallInvoker CallInvoker { get; }

    /// <summary>The client of <c>leases.v1.DataNodeSimulator</c> on the same server.</summary>
    public DataNodeSimulatorClient Simulator => _simulator;

    /// <summary>
    /// A client with its own channel to <paramref name="address"/> (e.g. http://127.0.0.1:5050), with
    /// <see cref="LeaseClientOptions.Channel"/> or else <see cref="CreateChannelOptions"/>, with the
    /// options' client certificate and server CA on its TLS, and its bearer token on every call.
    /// A token over cleartext (<c>http://</c>) is sent only to a loopback address. A comma-separated
    /// list (<c>http://a:5050,http://b:5050</c>) is several replicas:
    /// <see cref="Create(IEnumerable{string}, LeaseClientOptions?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No address, one without a scheme (<c>localhost:5050</c>), or a bearer token over cleartext to a non-loopback address.</exception>
    public static LeaseClient Create(string address, LeaseClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (address.Contains(',', StringComparison.Ordinal))
        {
            return Create(address.Split(','), options);
        }

        if (!address.Contains("://", StringComparison.Ordinal))
        {
            // "localhost:5050" parses as a URI of scheme "localhost", for which Grpc.Net.Client then
            // has "no address resolver"; "127.0.0.1:5050" does not parse at all.
            throw new ArgumentException($"'{address}' has no scheme: write http://{address.Trim()} (or https://).", nameof(address));
        }

        options ??= new LeaseClientOptions();
        options.Validate();
        var uri = new Uri(address, UriKind.Absolute);
        return new LeaseClient(OpenChannel(uri, options, options.Channel ?? OwnedChannelOptions(retryPolicy: true, options.ConnectTimeout)), uri, options);
    }

    /// <summary>
    /// A client of several replicas of one service, of which one is active (the others answer
    /// <c>UNAVAILABLE</c> "not the active replica", naming the active in the
    /// <see cref="LeaderUrlTrailer"/> trailer). Calls go to the replica believed active, at first
    /// the first address. When a standby names the active and that is one of
    /// <paramref name="addresses"/>, the call is retried there at once and later calls go there; a
    /// named address that is not configured is ignored (a replica cannot send this client, or its
    /// credentials, anywhere else). Without a usable name, and when a replica cannot be reached, the
    /// next address is tried; a round over all of them waits an exponential backoff
    /// (<see cref="LeaseClientOptions.FailoverBackoff"/>) before the next, up to
    /// <see cref="LeaseClientOptions.FailoverAttempts"/> attempts within the call's deadline.
    /// Every method is retried after a refusal that proves nothing was applied (a standby's, a
    /// server shutting down, a connection never established); after any other <c>UNAVAILABLE</c>,
    /// such as a connection lost mid-call, only reads and RenewLease are, since a change may have
    /// been applied (see the README). One channel per address, opened on first use and kept, each
    /// as <see cref="Create(string, LeaseClientOptions?)"/> opens it but without the channel's own
    /// retry policy when the options bring no channel settings. One address is the same as
    /// <see cref="Create(string, LeaseClientOptions?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No address, one that is not an absolute http(s) URL, or a bearer token over cleartext to a non-loopback address.</exception>
    public static LeaseClient Create(IEnumerable<string> addresses, LeaseClientOptions? options = null)
    {
        var replicas = ReplicaAddresses.Parse(addresses);
        options ??= new LeaseClientOptions();
        if (replicas.Count == 1)
        {
            return Create(replicas[0].ToString(), options);
        }

        options.ValidateFailover(); // The rest when the client is built (no channel opens before).
        foreach (var address in replicas.All)
        {
            CheckBearerTransport(address, options);
        }

        var failover = new FailoverCallInvoker(
            replicas,
            address =>
            {
                var channel = OpenChannel(address, options, options.Channel ?? OwnedChannelOptions(retryPolicy: false, options.ConnectTimeout));
                return (channel.CreateCallInvoker(), channel);
            },
            new FailoverPolicy(
                options.FailoverAttempts,
                options.FailoverBackoff,
                options.FailoverMaxBackoff,
                options.FailoverAttemptTimeout == Timeout.InfiniteTimeSpan ? null : options.FailoverAttemptTimeout),
            options.TimeProvider);
        return new LeaseClient(failover, replicas, options);
    }

    /// <summary>
    /// The channel settings of <see cref="Create(string, LeaseClientOptions?)"/>: a 5 s connect timeout
    /// (<see cref="LeaseClientOptions.ConnectTimeout"/>'s default), HTTP/2 keep-alive pings every 30 s on idle
    /// connections (10 s timeout), and a service-config retry policy: the idempotent reads
    /// (GetLease, ListLeases, GetFile) and RenewLease retry UNAVAILABLE up to 4 attempts with
    /// exponential backoff (100 ms, ×2, at most 2 s). Start from these when you bring your own.
    /// </summary>
    public static GrpcChannelOptions CreateChannelOptions() => ChannelOptions(retryPolicy: true, LeaseClientOptions.DefaultConnectTimeout);

    /// <summary>
    /// Settings for a channel of the client's own, whose handler no one else has: disposing the
    /// channel disposes the handler and closes its connections (a handler passed in is otherwise
    /// left open by GrpcChannel). Options the caller brings are left as they are: their handler
    /// may be shared.
    /// </summary>
    private static GrpcChannelOptions OwnedChannelOptions(bool retryPolicy, TimeSpan connectTimeout)
    {
        var options = ChannelOptions(retryPolicy, connectTimeout);
        options.DisposeHttpClient = true;
        return options;
    }

    private static GrpcChannelOptions ChannelOptions(bool retryPolicy, TimeSpan connectTimeout) => new()
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        },
        // Several replicas: the failover invoker retries, across replicas; a channel retrying a
        // standby's refusal on the same replica would only delay it.
        ServiceConfig = retryPolicy ? new ServiceConfig { MethodConfigs = { RetryPolicyConfig() } } : null,
    };

    /// <summary>Opens <paramref name="path"/> for write and takes its lease (AddLease).</summary>
    public async Task<LeaseInfo> AddLeaseAsync(string holder, string path, string? clientMachine = null, CancellationToken cancellationToken = default)
    {
        var request = new AddLeaseRequest { Holder = holder, Path = path, ClientMachine = clientMachine ?? string.Empty };
        return (await Call(_leases.AddLeaseAsync(request, Options(cancellationToken))).ConfigureAwait(false)).Lease;
    }

    /// <summary>Renews every path of <paramref name="holder"/>; throws <see cref="LeaseNotFoundException"/> when it holds none.</summary>
    public Task<RenewLeaseResponse> RenewLeaseAsync(string holder, CancellationToken cancellationToken = default)
        => Call(_leases.RenewLeaseAsync(new RenewLeaseRequest { Holder = holder }, Options(cancellationToken)));

    /// <summary>Closes the file and releases its lease; false while the last block waits for replicas (retry).</summary>
    public async Task<bool> RemoveLeaseAsync(string holder, string path, CancellationToken cancellationToken = default)
        => (await Call(_leases.RemoveLeaseAsync(new RemoveLeaseRequest { Holder = holder, Path = path }, Options(cancellationToken))).ConfigureAwait(false)).Closed;

    /// <summary>Recovers the lease of <paramref name="path"/>; poll until <c>Closed</c>.</summary>
    public Task<RecoverLeaseResponse> RecoverLeaseAsync(string path, string? requester = null, bool force = false, CancellationToken cancellationToken = default)
        => Call(_leases.RecoverLeaseAsync(new RecoverLeaseRequest { Path = path, Requester = requester ?? string.Empty, Force = force }, Options(cancellationToken)));

    /// <summary>The lease of an open file.</summary>
    public async Task<LeaseInfo> GetLeaseAsync(string path, CancellationToken cancellationToken = default)
        => (await Call(_leases.GetLeaseAsync(new GetLeaseRequest { Path = path }, Options(cancellationToken))).ConfigureAwait(false)).Lease;

    /// <summary>One page of open files.</summary>
    public Task<ListLeasesResponse> ListLeasesAsync(string? holder = null, string? pathPrefix = null, int pageSize = 0, string? pageToken = null, CancellationToken cancellationToken = default)
        => Call(_leases.ListLeasesAsync(
            new ListLeasesRequest { Holder = holder ?? string.Empty, PathPrefix = pathPrefix ?? string.Empty, PageSize = pageSize, PageToken = pageToken ?? string.Empty },
            Options(cancellationToken)));

    /// <summary>Every open file matching the filters, page by page.</summary>
    public async IAsyncEnumerable<LeaseInfo> ListAllLeasesAsync(string? holder = null, string? pathPrefix = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await ListLeasesAsync(holder, pathPrefix, 0, token, cancellationToken).ConfigureAwait(false);
            foreach (var lease in page.Leases)
            {
                yield return lease;
            }

            token = page.NextPageToken;
        }
        while (token.Length > 0);
    }

    /// <summary>Allocates the next block of an open file (lease holder only).</summary>
    public Task<AddBlockResponse> AddBlockAsync(string holder, string path, CancellationToken cancellationToken = default)
        => Call(_leases.AddBlockAsync(new AddBlockRequest { Holder = holder, Path = path }, Options(cancellationToken)));

    /// <summary>A file with its blocks.</summary>
    public Task<Contracts.V1.FileInfo> GetFileAsync(string path, CancellationToken cancellationToken = default)
        => Call(_leases.GetFileAsync(new GetFileRequest { Path = path }, Options(cancellationToken)));

    /// <summary>
    /// Deletes <paramref name="path"/>: the file, its blocks and any lease on it, durably before
    /// it answers. Throws <see cref="LeaseNotFoundException"/> when it does not exist. Not retried
    /// on UNAVAILABLE by the default policy: a retry after a lost answer would see NOT_FOUND.
    /// </summary>
    /// <returns>The holder that had it open for write (its lease on it is gone), or empty when it was closed.</returns>
    public Task<DeleteFileResponse> DeleteFileAsync(string path, CancellationToken cancellationToken = default)
        => Call(_leases.DeleteFileAsync(new DeleteFileRequest { Path = path }, Options(cancellationToken)));

    /// <summary>The server's health (grpc.health.v1), overall or for one service.</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(string service = "", CancellationToken cancellationToken = default)
        => (await Call(_health.CheckAsync(new HealthCheckRequest { Service = service }, Options(cancellationToken))).ConfigureAwait(false)).Status;

    /// <summary>
    /// Any unary call made with this client's deadline and error mapping, e.g.
    /// <c>client.CallAsync(o =&gt; client.Simulator.ListDataNodesAsync(request, o))</c>.
    /// </summary>
    public Task<TResponse> CallAsync<TResponse>(Func<CallOptions, AsyncUnaryCall<TResponse>> call, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        return Call(call(Options(cancellationToken)));
    }

    /// <summary>Closes the channels this client opened (none when it was given a channel or invoker).</summary>
    public void Dispose()
    {
        _ownedChannel?.Dispose();
        _failover?.Dispose();
    }

    /// <summary>The retry policy of <see cref="CreateChannelOptions"/>.</summary>
    internal static MethodConfig RetryPolicyConfig()
    {
        var config = new MethodConfig
        {
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = 4,
                InitialBackoff = TimeSpan.FromMilliseconds(100),
                MaxBackoff = TimeSpan.FromSeconds(2),
                BackoffMultiplier = 2,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        foreach (var method in new[] { "GetLease", "ListLeases", "GetFile", "RenewLease" })
        {
            config.Names.Add(new MethodName { Service = "leases.v1.LeaseService", Method = method });
        }

        return config;
    }

    private CallOptions Options(CancellationToken cancellationToken)
    {
        var now = _options.TimeProvider.GetUtcNow().UtcDateTime;
        DateTime? deadline = _options.CallTimeout == Timeout.InfiniteTimeSpan || _options.CallTimeout >= DateTime.MaxValue - now
            ? null // Beyond the calendar (e.g. TimeSpan.MaxValue): no deadline.
            : now + _options.CallTimeout;
        return new CallOptions(deadline: deadline, cancellationToken: cancellationToken, credentials: _credentials);
    }

    /// <summary>A channel to <paramref name="address"/> with the options' TLS settings, refusing a bearer token over cleartext beyond loopback.</summary>
    private static GrpcChannel OpenChannel(Uri address, LeaseClientOptions options, GrpcChannelOptions channelOptions)
    {
        if (channelOptions.HttpHandler is SocketsHttpHandler handler)
        {
            ConfigureTls(handler.SslOptions, options);
        }

        if (CheckBearerTransport(address, options))
        {
            channelOptions.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(address, channelOptions);
    }

    /// <summary>True when a bearer token goes over cleartext to loopback; throws when it would go over cleartext elsewhere.</summary>
    internal static bool CheckBearerTransport(Uri address, LeaseClientOptions options)
    {
        if (!options.HasBearerToken || address.Scheme != Uri.UriSchemeHttp)
        {
            return false;
        }

        return address.IsLoopback
            ? true
            : throw new ArgumentException($"A bearer token is sent only over TLS (https://) or to a loopback address; {address.GetLeftPart(UriPartial.Authority)} is neither.", nameof(address));
    }

    /// <summary>The options' bearer token as per-call credentials, asked of the provider on each call; null without one.</summary>
    private static CallCredentials? BearerCredentials(LeaseClientOptions options)
    {
        if (!options.HasBearerToken)
        {
            return null;
        }

        var provider = options.BearerTokenProvider;
        var fixedToken = options.BearerToken;
        return CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            var token = provider is null ? fixedToken : await provider(context.CancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(token))
            {
                metadata.Add("authorization", "Bearer " + token);
            }
        });
    }

    /// <summary>The client certificate and the private CA of <paramref name="options"/> on a handler's TLS.</summary>
    internal static void ConfigureTls(SslClientAuthenticationOptions ssl, LeaseClientOptions options)
    {
        if (options.ClientCertificate is { } certificate)
        {
            ssl.ClientCertificates = [certificate];
        }

        if (options.ServerCertificateAuthority is { } authority)
        {
            ssl.RemoteCertificateValidationCallback = (_, presented, _, errors) =>
            {
                if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                {
                    return false; // Missing, or the name does not match the address.
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData()));
            };
        }
    }

    private static async Task<TResponse> Call<TResponse>(AsyncUnaryCall<TResponse> call)
    {
        using (call)
        {
            try
            {
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex is not LeaseServiceException)
            {
                throw LeaseServiceException.From(ex);
            }
        }
    }
}
