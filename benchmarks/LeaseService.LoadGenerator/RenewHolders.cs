using LeaseService.Contracts.V1;
using LeaseServiceClient = LeaseService.Contracts.V1.LeaseService.LeaseServiceClient;

/// <summary>The holders of the renew mode, each given one open path first (not timed), so each RenewLease renews one lease.</summary>
internal static class RenewHolders
{
    /// <summary>Opens /renew/RUN/H for holder renew-RUN-H, H below <see cref="LoadOptions.Holders"/>; returns their renewal requests.</summary>
    public static async Task<RenewLeaseRequest[]> OpenAsync(LeaseServiceClient client, string run, LoadOptions options)
    {
        await Parallel.ForAsync(0, options.Holders, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency }, async (h, ct) =>
            await client.AddLeaseAsync(new AddLeaseRequest { Holder = $"renew-{run}-{h}", Path = $"/renew/{run}/{h}", ClientMachine = "load" }, cancellationToken: ct));
        return Enumerable.Range(0, options.Holders).Select(h => new RenewLeaseRequest { Holder = $"renew-{run}-{h}" }).ToArray();
    }
}
