using System.Runtime.CompilerServices;
using Google.Protobuf;
using LeaseService.Contracts.V1;
using LeaseService.Rpc;
using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;

namespace LeaseService.Client;

/// <summary>
/// Typed client of <c>leases.v1.LeaseService</c> (and the health service). Thread-safe; share one
/// per server. Failures throw <see cref="LeaseServiceException"/> subtypes carrying the status.
/// </summary>
public sealed class LeaseClient : IDisposable
{
    private static readonly Method<HealthCheckRequest, HealthCheckResponse> HealthCheck =
        new(MethodType.Unary, "grpc.health.v1.Health", "Check", HealthCheckRequest.Parser, HealthCheckResponse.Parser);

    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly LeaseClientOptions _options;

    /// <summary>A client over an existing channel, which the caller keeps owning.</summary>
    public LeaseClient(GrpcChannel channel, LeaseClientOptions? options = null)
    {
        _channel = channel ?? throw new ArgumentNullException(nameof(channel));
        _options = options ?? new LeaseClientOptions();
    }

    private LeaseClient(GrpcChannel channel, LeaseClientOptions options, bool ownsChannel)
        : this(channel, options)
    {
        _ownsChannel = ownsChannel;
    }

    /// <summary>The server address.</summary>
    public Uri Address => _channel.Address;

    /// <summary>The underlying channel, for other services on the same server.</summary>
    public GrpcChannel Channel => _channel;

    /// <summary>A client with its own channel to <paramref name="address"/> (e.g. http://127.0.0.1:5050).</summary>
    public static LeaseClient Create(string address, LeaseClientOptions? options = null)
    {
        options ??= new LeaseClientOptions();
        var channelOptions = options.Channel ?? new GrpcChannelOptions();
        channelOptions.TimeProvider = options.TimeProvider;
        return new LeaseClient(GrpcChannel.ForAddress(address, channelOptions), options, ownsChannel: true);
    }

    /// <summary>Opens <paramref name="path"/> for write and takes its lease (AddLease).</summary>
    public async Task<LeaseInfo> AddLeaseAsync(string holder, string path, string? clientMachine = null, CancellationToken cancellationToken = default)
    {
        var request = new AddLeaseRequest { Holder = holder, Path = path, ClientMachine = clientMachine ?? string.Empty };
        return (await CallAsync(LeaseServiceMethods.AddLease, request, cancellationToken).ConfigureAwait(false)).Lease;
    }

    /// <summary>Renews every path of <paramref name="holder"/>; throws <see cref="LeaseNotFoundException"/> when it holds none.</summary>
    public Task<RenewLeaseResponse> RenewLeaseAsync(string holder, CancellationToken cancellationToken = default)
        => CallAsync(LeaseServiceMethods.RenewLease, new RenewLeaseRequest { Holder = holder }, cancellationToken);

    /// <summary>Closes the file and releases its lease; false while the last block waits for replicas (retry).</summary>
    public async Task<bool> RemoveLeaseAsync(string holder, string path, CancellationToken cancellationToken = default)
        => (await CallAsync(LeaseServiceMethods.RemoveLease, new RemoveLeaseRequest { Holder = holder, Path = path }, cancellationToken).ConfigureAwait(false)).Closed;

    /// <summary>Recovers the lease of <paramref name="path"/>; poll until <c>Closed</c>.</summary>
    public Task<RecoverLeaseResponse> RecoverLeaseAsync(string path, string? requester = null, bool force = false, CancellationToken cancellationToken = default)
        => CallAsync(LeaseServiceMethods.RecoverLease, new RecoverLeaseRequest { Path = path, Requester = requester ?? string.Empty, Force = force }, cancellationToken);

    /// <summary>The lease of an open file.</summary>
    public async Task<LeaseInfo> GetLeaseAsync(string path, CancellationToken cancellationToken = default)
        => (await CallAsync(LeaseServiceMethods.GetLease, new GetLeaseRequest { Path = path }, cancellationToken).ConfigureAwait(false)).Lease;

    /// <summary>One page of open files.</summary>
    public Task<ListLeasesResponse> ListLeasesAsync(string? holder = null, string? pathPrefix = null, int pageSize = 0, string? pageToken = null, CancellationToken cancellationToken = default)
        => CallAsync(
            LeaseServiceMethods.ListLeases,
            new ListLeasesRequest { Holder = holder ?? string.Empty, PathPrefix = pathPrefix ?? string.Empty, PageSize = pageSize, PageToken = pageToken ?? string.Empty },
            cancellationToken);

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
        => CallAsync(LeaseServiceMethods.AddBlock, new AddBlockRequest { Holder = holder, Path = path }, cancellationToken);

    /// <summary>A file with its blocks.</summary>
    public Task<Contracts.V1.FileInfo> GetFileAsync(string path, CancellationToken cancellationToken = default)
        => CallAsync(LeaseServiceMethods.GetFile, new GetFileRequest { Path = path }, cancellationToken);

    /// <summary>The server's health (grpc.health.v1), overall or for one service.</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> CheckHealthAsync(string service = "", CancellationToken cancellationToken = default)
        => (await CallAsync(HealthCheck, new HealthCheckRequest { Service = service }, cancellationToken).ConfigureAwait(false)).Status;

    /// <summary>Any unary method on this client's server, with the same deadline and error mapping.</summary>
    public async Task<TResponse> CallAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        DateTime? deadline = _options.CallTimeout == Timeout.InfiniteTimeSpan
            ? null
            : _options.TimeProvider.GetUtcNow().UtcDateTime + _options.CallTimeout;
        try
        {
            return await _channel.UnaryAsync(method, request, new CallOptions(deadline, cancellationToken)).ConfigureAwait(false);
        }
        catch (RpcException ex) when (ex is not LeaseServiceException)
        {
            throw LeaseServiceException.From(ex);
        }
    }

    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }
}
