using LeaseService.Client.Renewal.Internal;

namespace LeaseService.Client.Renewal;

/// <summary>
/// Hands out one <see cref="LeaseRenewer"/> per (server, user): every client of a user in the
/// process shares it; another user or server gets another. Users are compared by name (ordinal),
/// servers by scheme, host and port. A renewer that was disposed is replaced on the next request.
/// </summary>
public sealed class LeaseRenewerFactory : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Server, string User), LeaseRenewer> _renewers = [];
    private readonly LeaseRenewerOptions _options;
    private readonly Func<Uri, IRenewalTransport>? _transportFactory;
    private bool _disposed;

    /// <summary>A factory whose renewers each open their own connection to their server.</summary>
    public LeaseRenewerFactory(LeaseRenewerOptions? options = null)
        : this(options ?? LeaseRenewerOptions.Default, null)
    {
    }

    internal LeaseRenewerFactory(LeaseRenewerOptions options, Func<Uri, IRenewalTransport>? transportFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _transportFactory = transportFactory;
    }

    /// <summary>The process-wide factory with default options.</summary>
    public static LeaseRenewerFactory Shared { get; } = new();

    /// <summary>
    /// The renewer of <paramref name="user"/> on the server of <paramref name="client"/>. A new
    /// renewer renews through <paramref name="client"/> itself — its channel, TLS, handlers and
    /// interceptors. Once that client's channel is closed (it was disposed), it renews through the
    /// next client of the same user and server that asked for it since (this method hands each one
    /// to it, held weakly); so keep a client of the user undisposed while its paths are open.
    /// </summary>
    /// <exception cref="ArgumentException">The client does not know its server's address (built from a bare CallInvoker).</exception>
    public LeaseRenewer GetRenewer(LeaseClient client, string user)
    {
        ArgumentNullException.ThrowIfNull(client);
        var server = client.Address ?? throw new ArgumentException("The client was built without a server address; build it from an address or a GrpcChannel, or pass the address to its constructor.", nameof(client));
        var renewer = GetRenewer(server, user, _transportFactory ?? (_ => new LeaseClientRenewalTransport(client, ownsClient: false)));
        (renewer.Transport as LeaseClientRenewalTransport)?.Add(client);
        return renewer;
    }

    /// <summary>The renewer of <paramref name="user"/> on <paramref name="server"/>; a new one opens its own channel.</summary>
    /// <exception cref="ObjectDisposedException">The factory was disposed.</exception>
    public LeaseRenewer GetRenewer(Uri server, string user) => GetRenewer(server, user, _transportFactory ?? (address => new LeaseClientRenewalTransport(
        LeaseClient.Create(address.GetLeftPart(UriPartial.Authority), _options.ClientOptions),
        ownsClient: true)));

    private LeaseRenewer GetRenewer(Uri server, string user, Func<Uri, IRenewalTransport> transportFactory)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (!server.IsAbsoluteUri)
        {
            throw new ArgumentException($"Server address '{server}' must be absolute.", nameof(server));
        }

        var key = (server.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), user);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_renewers.TryGetValue(key, out var renewer))
            {
                var address = new Uri(key.Item1);
                renewer = new LeaseRenewer(address, user, transportFactory(address), _options, Forget);
                _renewers.Add(key, renewer);
            }

            return renewer;
        }
    }

    /// <summary>Disposes every renewer: their paths are aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        LeaseRenewer[] renewers;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            renewers = [.. _renewers.Values];
            _renewers.Clear();
        }

        foreach (var renewer in renewers)
        {
            await renewer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Forget(LeaseRenewer renewer)
    {
        lock (_lock)
        {
            var key = (renewer.Server.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), renewer.User);
            if (_renewers.TryGetValue(key, out var current) && current == renewer)
            {
                _renewers.Remove(key);
            }
        }
    }
}
