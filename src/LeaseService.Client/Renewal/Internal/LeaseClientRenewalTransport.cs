namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// The renewer's transport over <see cref="LeaseClient"/>s: its own (a renewer that opened its
/// channel), or the one of the application's first
/// <see cref="LeaseRenewerFactory.GetRenewer(LeaseClient, string)"/> call. Renewals go through that
/// client; once its channel is closed (it was disposed: the process-wide factory's renewers outlive
/// the clients of one job), through the next client of the same user and server that asked for the
/// renewer since, in the order they asked. Those later clients are held weakly: a client the
/// application let go (never disposed, over a channel it shares) does not stay alive here.
/// </summary>
internal sealed class LeaseClientRenewalTransport : IRenewalTransport
{
    private readonly Lock _lock = new();
    private readonly bool _ownsClient;
    private LeaseClient? _current;
    private readonly List<WeakReference<LeaseClient>> _next = [];

    public LeaseClientRenewalTransport(LeaseClient client, bool ownsClient)
    {
        _current = client;
        _ownsClient = ownsClient;
    }

    /// <summary>
    /// Another client of the renewer's user and server, used once those before it are closed, or at
    /// once when every one before it was found closed (not for a renewer with its own client).
    /// </summary>
    public void Add(LeaseClient client)
    {
        if (_ownsClient)
        {
            return;
        }

        lock (_lock)
        {
            if (ReferenceEquals(client, _current))
            {
                return;
            }

            if (_current is null)
            {
                // Every client before it was disposed (a renewal found none live): this one renews from now on.
                _current = client;
                return;
            }

            _next.RemoveAll(weak => !weak.TryGetTarget(out var held) || ReferenceEquals(held, client));
            _next.Add(new WeakReference<LeaseClient>(client));
        }
    }

    public Task<RenewResult> RenewAsync(string holder, CancellationToken cancellationToken)
        => WithClientAsync(async client =>
        {
            var response = await client.RenewLeaseAsync(holder, cancellationToken).ConfigureAwait(false);
            return new RenewResult(
                response.LeasesRenewed,
                response.SoftLimit?.ToTimeSpan() ?? TimeSpan.Zero,
                response.HardLimit?.ToTimeSpan() ?? TimeSpan.Zero);
        });

    public Task<IReadOnlySet<string>> ListHeldPathsAsync(string holder, CancellationToken cancellationToken)
        => WithClientAsync<IReadOnlySet<string>>(async client =>
        {
            var paths = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var lease in client.ListAllLeasesAsync(holder, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (lease.Holder == holder)
                {
                    paths.Add(lease.Path);
                }
            }

            return paths;
        });

    public void Dispose()
    {
        if (_ownsClient)
        {
            _current?.Dispose();
        }
    }

    /// <summary>Runs <paramref name="call"/> through the current client; when its channel is closed, through the next.</summary>
    private async Task<T> WithClientAsync<T>(Func<LeaseClient, Task<T>> call)
    {
        while (true)
        {
            var client = Current();
            try
            {
                return await call(client).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (MoveOn(client))
            {
                // Its channel was closed: the next client asked for this renewer.
            }
        }
    }

    private LeaseClient Current()
    {
        lock (_lock)
        {
            return _current ?? throw new ObjectDisposedException(nameof(LeaseClient), "Every client this renewer renews through was disposed; get the renewer again with a live client (LeaseRenewerFactory.GetRenewer).");
        }
    }

    /// <summary>Drops <paramref name="closed"/> for the next live client asked for since; true when there is one.</summary>
    private bool MoveOn(LeaseClient closed)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_current, closed))
            {
                return _current is not null; // Another call moved on already.
            }

            _current = null;
            while (_current is null && _next.Count > 0)
            {
                _next[0].TryGetTarget(out _current);
                _next.RemoveAt(0);
            }

            return _current is not null;
        }
    }
}
