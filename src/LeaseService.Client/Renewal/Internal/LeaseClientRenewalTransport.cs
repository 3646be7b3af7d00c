namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// The renewer's transport over <see cref="LeaseClient"/>s: its own (a renewer that opened its
/// channel) or those of the application that asked for the renewer
/// (<see cref="LeaseRenewerFactory.GetRenewer(LeaseClient, string)"/>). Of the latter, renewals go
/// through the newest one not disposed, so a renewer that outlives the client it was first given
/// (the process-wide factory's do) renews through a later client of the same user and server
/// instead of a closed channel.
/// </summary>
internal sealed class LeaseClientRenewalTransport : IRenewalTransport
{
    private readonly Lock _lock = new();
    private readonly List<LeaseClient> _clients = []; // Newest last.
    private readonly bool _ownsClient;

    public LeaseClientRenewalTransport(LeaseClient client, bool ownsClient)
    {
        _clients.Add(client);
        _ownsClient = ownsClient;
    }

    /// <summary>Another client of the renewer's user and server; it becomes the one renewals use (not for a renewer with its own client).</summary>
    public void Add(LeaseClient client)
    {
        if (_ownsClient)
        {
            return;
        }

        lock (_lock)
        {
            _clients.Remove(client);
            _clients.Add(client);
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
            _clients[0].Dispose();
        }
    }

    /// <summary>Runs <paramref name="call"/> through the newest live client; one disposed under it is dropped and the next tried.</summary>
    private async Task<T> WithClientAsync<T>(Func<LeaseClient, Task<T>> call)
    {
        while (true)
        {
            var client = Current();
            try
            {
                return await call(client).ConfigureAwait(false);
            }
            catch (ObjectDisposedException) when (Drop(client))
            {
                // Its channel was closed (by its owner, perhaps without disposing the client): the next.
            }
        }
    }

    /// <summary>The newest client not disposed; throws when every client is.</summary>
    private LeaseClient Current()
    {
        lock (_lock)
        {
            _clients.RemoveAll(client => client.IsDisposed);
            return _clients.Count > 0
                ? _clients[^1]
                : throw new ObjectDisposedException(nameof(LeaseClient), "Every client this renewer renews through was disposed; get the renewer again with a live client (LeaseRenewerFactory.GetRenewer).");
        }
    }

    /// <summary>Forgets <paramref name="client"/>; true when another is left to try.</summary>
    private bool Drop(LeaseClient client)
    {
        lock (_lock)
        {
            _clients.Remove(client);
            return _clients.Count > 0;
        }
    }
}
