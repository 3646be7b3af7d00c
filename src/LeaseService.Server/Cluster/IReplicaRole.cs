namespace LeaseService.Server.Cluster;

/// <summary>
/// Whether this replica may serve <c>leases.v1</c> calls: always on a single server; on a
/// cluster only while it is the active replica and can prove it. The RPC layer refuses calls
/// (UNAVAILABLE, <c>leader-url</c>) and health reports NOT_SERVING while it is false.
/// </summary>
internal interface IReplicaRole
{
    /// <summary>True while this replica is the one that serves. Cheap; read on every call.</summary>
    bool IsActive { get; }

    /// <summary>The active replica's advertised URL when known; else null.</summary>
    string? LeaderUrl { get; }

    /// <summary>What this replica is, for health and logs: "standalone", "active" or "standby".</summary>
    string Describe();

    /// <summary>How many times this replica became the active one (a single server: once).</summary>
    long Activations { get; }

    /// <summary>Raised (outside any lock) after <see cref="IsActive"/> changed.</summary>
    event Action? Changed;
}

/// <summary>A single server: always active.</summary>
internal sealed class StandaloneRole : IReplicaRole
{
    public bool IsActive => true;

    public string? LeaderUrl => null;

    public string Describe() => "standalone";

    public long Activations => 1;

    public event Action? Changed
    {
        add { }
        remove { }
    }
}
