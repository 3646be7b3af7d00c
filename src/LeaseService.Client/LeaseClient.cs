using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;
using LeaseService.Contracts.V1;
using DataNodeSimulatorClient = LeaseService.Contracts.V1.DataNodeSimulator.DataNodeSimulatorClient;
using HealthClient = Grpc.Health.V1.Health.HealthClient;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

namespace LeaseService.Client;

/// <summary>
/// Typed client of <c>leases.v1.LeaseService</c> (and the health service) over Grpc.Net.Client.
/// Thread-safe; share one per server. Build it from an address (<see cref="Create"/>), an existing
/// <see cref="GrpcChannel"/> or any <see cref="CallInvoker"/> (interceptors, TLS, handlers are the
/// caller's), or register it with DI (<see cref="LeaseClientServiceCollectionExtensions"/>).
/// Failures throw <see cref="LeaseServiceException"/> subtypes carrying the status.
/// </summary>
public sealed class LeaseClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly LeaseClientOptions _options;
    private readonly LeaseServiceClient _leases;
    private readonly DataNodeSimulatorClient _simulator;
    private readonly HealthClient _health;
    private readonly CallCredentials? _credentials;

    /// <summary>A client over <paramref name="callInvoker"/>, which the caller keeps owning.</summary>
    /// <param name="callInvoker">How calls are made: a channel's invoker, possibly intercepted.</param>
    /// <param name="address">The server's address, used to key renewers; null when unknown.</param>
    /// <param name="options">Deadlines and clock.</param>
    public LeaseClient(CallInvoker callInvoker, Uri? address = null, LeaseClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(callInvoker);
        CallInvoker = callInvoker;
        Address = address;
        _options = options ?? new LeaseClientOptions();
        _leases = new LeaseServiceClient(callInvoker);
        _simulator = new DataNodeSimulatorClient(callInvoker);
        _health = new HealthClient(callInvoker);
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

    /// <summary>The server address, when the client knows it (built from an address or a channel).</summary>
    public Uri? Address { get; }

    /// <summary>The invoker every call goes through, for other services on the same server.</summary>
    public CallInvoker CallInvoker { get; }

    /// <summary>The client of <c>leases.v1.DataNodeSimulator</c> on the same server.</summary>
    public DataNodeSimulatorClient Simulator => _simulator;

    /// <summary>
    /// A client with its own channel to <paramref name="address"/> (e.g. http://127.0.0.1:5050), with
    /// <see cref="LeaseClientOptions.Channel"/> or else <see cref="CreateChannelOptions"/>, with the
    /// options' client certificate and server CA on its TLS, and its bearer token on every call.
    /// A token over cleartext (<c>http://</c>) is sent only to a loopback address.
    /// </summary>
    public static LeaseClient Create(string address, LeaseClientOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        options ??= new LeaseClientOptions();
        var uri = new Uri(address, UriKind.Absolute);
        var channelOptions = options.Channel ?? CreateChannelOptions();
        if (channelOptions.HttpHandler is SocketsHttpHandler handler)
        {
            ConfigureTls(handler.SslOptions, options);
        }

        if (options.HasBearerToken && uri.Scheme == Uri.UriSchemeHttp)
        {
            if (!uri.IsLoopback)
            {
                throw new ArgumentException($"A bearer token is sent only over TLS (https://) or to a loopback address; {address} is neither.", nameof(address));
            }

            channelOptions.UnsafeUseInsecureChannelCallCredentials = true;
        }

        var channel = GrpcChannel.ForAddress(uri, channelOptions);
        return new LeaseClient(channel, uri, options);
    }

    /// <summary>
    /// The channel settings of <see cref="Create"/>: HTTP/2 keep-alive pings every 30 s on idle
    /// connections (10 s timeout), and a service-config retry policy: the idempotent reads
    /// (GetLease, ListLeases, GetFile) and RenewLease retry UNAVAILABLE up to 4 attempts with
    /// exponential backoff (100 ms, ×2, at most 2 s). Start from these when you bring your own.
    /// </summary>
    public static GrpcChannelOptions CreateChannelOptions() => new()
    {
        HttpHandler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
        },
        ServiceConfig = new ServiceConfig { MethodConfigs = { RetryPolicyConfig() } },
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

    public void Dispose() => _ownedChannel?.Dispose();

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
        DateTime? deadline = _options.CallTimeout == Timeout.InfiniteTimeSpan
            ? null
            : _options.TimeProvider.GetUtcNow().UtcDateTime + _options.CallTimeout;
        return new CallOptions(deadline: deadline, cancellationToken: cancellationToken, credentials: _credentials);
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
    private static void ConfigureTls(SslClientAuthenticationOptions ssl, LeaseClientOptions options)
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
