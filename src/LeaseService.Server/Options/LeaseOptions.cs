namespace LeaseService.Server.Options;

/// <summary>Configuration section <c>Leases</c>; environment form <c>Leases__SoftLimit=00:01:00</c>.</summary>
public sealed class LeaseOptions
{
    public const string Section = "Leases";

    /// <summary>
    /// The longest <see cref="HardLimit"/> (so <see cref="SoftLimit"/> too): 365 days. Bounds keep
    /// every duration well inside the monotonic clock's range (about 292 years in nanoseconds) and
    /// a timer's (about 49 days), so start-up refuses a typo rather than overflowing later.
    /// </summary>
    public static readonly TimeSpan HardLimitUpperBound = TimeSpan.FromDays(365);

    /// <summary>The longest <see cref="MonitorInterval"/>: one hour.</summary>
    public static readonly TimeSpan MonitorIntervalUpperBound = TimeSpan.FromHours(1);

    /// <summary>The largest <see cref="MaxMonitorWorkPerPass"/>: one second (40 times the default).</summary>
    public static readonly TimeSpan MaxMonitorWorkPerPassUpperBound = TimeSpan.FromSeconds(1);

    /// <summary>The longest <see cref="RecoveryTimeout"/>: one day.</summary>
    public static readonly TimeSpan RecoveryTimeoutUpperBound = TimeSpan.FromDays(1);

    /// <summary>After this, another writer may recover the path. Default 00:01:00; &gt; 0 and ≤ HardLimit.</summary>
    public TimeSpan SoftLimit { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>After this, the monitor recovers the lease. Default 01:00:00; ≥ SoftLimit, ≤ 365 days.</summary>
    public TimeSpan HardLimit { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the monitor runs. Default 00:00:02; &gt; 0, ≤ 1 h.</summary>
    public TimeSpan MonitorInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one monitor pass may hold the lock in all, on the real monotonic clock; a pass
    /// that spends it with work left is followed by the next after a pause as long as the
    /// time it held the lock (not a whole interval later). Default 00:00:00.025; &gt; 0, ≤ 1 s.
    /// </summary>
    public TimeSpan MaxMonitorWorkPerPass { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Files the monitor handles per lock hold; the lock is released between batches. Default 128; 1–100000.</summary>
    public int MonitorBatchSize { get; set; } = 128;

    /// <summary>
    /// The most blocks a file may have; AddBlock beyond is refused. Default 10240 (HDFS's);
    /// 1–1000000, and with the etcd provider few enough that a file's record fits in one etcd request.
    /// </summary>
    public int MaxBlocksPerFile { get; set; } = 10 * 1024;

    /// <summary>A block-recovery attempt older than this is retried with a new recovery id. Default 00:01:30; ≥ DataNodes:RecoveryTimeout, ≤ 1 day.</summary>
    public TimeSpan RecoveryTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Block-recovery attempts that wait for replicas on DataNodes that are down; later attempts
    /// use live replicas only and drop the last block when none is live. Default 3; 1–100.
    /// </summary>
    public int DeadReplicaGraceAttempts { get; set; } = 3;

    /// <summary>DataNodes in a new block's pipeline. Default 3; 1–16.</summary>
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>FINALIZED replicas a block needs to be complete. Default 1; 1–ReplicationFactor.</summary>
    public int MinReplication { get; set; } = 1;
}
