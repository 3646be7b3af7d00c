namespace LeaseService.Client.Renewal.Internal;

/// <summary>The renewer's transport over its own <see cref="LeaseClient"/>.</summary>
internal sealed class LeaseClientRenewalTransport(LeaseClient client, bool ownsClient) : IRenewalTransport
{
    public async Task<RenewResult> RenewAsync(string holder, CancellationToken cancellationToken)
    {
        var response = await client.RenewLeaseAsync(holder, cancellationToken).ConfigureAwait(false);
        return new RenewResult(
            response.LeasesRenewed,
            response.SoftLimit?.ToTimeSpan() ?? TimeSpan.Zero,
            response.HardLimit?.ToTimeSpan() ?? TimeSpan.Zero);
    }

    public async Task<IReadOnlySet<string>> ListHeldPathsAsync(string holder, CancellationToken cancellationToken)
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
    }

    public void Dispose()
    {
        if (ownsClient)
        {
            client.Dispose();
        }
    }
}
