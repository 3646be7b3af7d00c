namespace LeaseService.Server.Cluster;

/// <summary>Configuration section <c>Cluster</c>: how this replica takes part in a high-availability cluster (Storage:Provider=Etcd).</summary>
internal sealed class ClusterOptions
{
    public const string Section = "Cluster";

    /// <summary>
    /// The URL clients should use to reach this replica (e.g. <c>http://lease-1:5050</c>). While it
    /// is active, standbys send it in the <c>leader-url</c> trailer of their refusals. Optional:
    /// without it clients only learn to try the next address.
    /// </summary>
    public string? AdvertiseUrl { get; set; }

    /// <summary>
    /// The TTL of this replica's etcd session: when the active dies, a standby takes over after at
    /// most this long. Whole seconds, 2 s to 60 s. Default 5 s. It is also the grace every lease
    /// gets after a failover.
    /// </summary>
    public TimeSpan SessionTtl { get; set; } = TimeSpan.FromSeconds(5);
}
