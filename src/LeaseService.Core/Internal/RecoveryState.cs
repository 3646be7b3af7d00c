namespace LeaseService.Core.Internal;

/// <summary>
/// Lease recovery of one file that could not close at once: its current block-recovery attempt.
/// Queued by attempt start so the monitor retries attempts older than the recovery timeout,
/// O(due) per pass.
/// </summary>
internal sealed class RecoveryState(FileEntry file) : IntrusiveNode<RecoveryState>
{
    public FileEntry File { get; } = file;

    /// <summary>Monotonic timestamp when the current attempt started.</summary>
    public long AttemptStarted { get; set; }

    /// <summary>Attempts started so far (the grace for dead replicas counts them).</summary>
    public int Attempts { get; set; }

    /// <summary>The lease monitor started the current attempt: its per-file events are Debug (the pass summary counts them).</summary>
    public bool ByMonitor { get; set; }

    /// <summary>DataNodes already tried as primary; reset when every live replica has been tried.</summary>
    public HashSet<string> ChosenPrimaries { get; } = new(StringComparer.Ordinal);
}
