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

    public int Attempts { get; set; }

    /// <summary>The block recovery id of the current attempt (0 before the first).</summary>
    public long RecoveryId { get; set; }

    public string? Primary { get; set; }

    /// <summary>DataNodes already tried as primary; reset when every live replica has been tried.</summary>
    public HashSet<string> ChosenPrimaries { get; } = new(StringComparer.Ordinal);

    /// <summary>True while the current attempt's command is with the DataNodes.</summary>
    public bool InFlight { get; set; }

    public string? LastFailure { get; set; }
}
