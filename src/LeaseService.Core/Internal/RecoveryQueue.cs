using System.Diagnostics;
using LeaseService.Core.DataNodes;

namespace LeaseService.Core.Internal;

/// <summary>
/// The files under lease recovery, in attempt-start order, so the monitor finds attempts older
/// than the recovery timeout in O(due); and the choice of each attempt's primary. Shares the
/// manager's lock; every member assumes it is held.
/// </summary>
internal sealed class RecoveryQueue(Lock gate)
{
    private readonly IntrusiveList<RecoveryState> _queue = new();

    public int Count => _queue.Count;

    /// <summary>The attempt started longest ago, or null.</summary>
    public RecoveryState? Oldest => _queue.Head;

    /// <summary>The file's recovery, begun now when none runs, else moved to the back (a new attempt).</summary>
    public RecoveryState BeginAttempt(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        if (file.Recovery is { } recovery)
        {
            _queue.MoveToLast(recovery);
            return recovery;
        }

        recovery = new RecoveryState(file);
        file.Recovery = recovery;
        _queue.AddLast(recovery);
        return recovery;
    }

    /// <summary>Restores a recovery read from the store (its attempt resumes right after loading).</summary>
    public void Restore(FileEntry file, int attempts)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        file.Recovery = new RecoveryState(file) { Attempts = attempts };
        _queue.AddLast(file.Recovery);
    }

    /// <summary>The file closed: its recovery, if any, is over.</summary>
    public void End(FileEntry file)
    {
        Debug.Assert(gate.IsHeldByCurrentThread);
        if (file.Recovery is { } recovery)
        {
            _queue.Remove(recovery);
            file.Recovery = null;
        }
    }

    /// <summary>
    /// The live replica location not yet tried as primary with the most recent heartbeat (ties by
    /// id); when every live one was tried, starts over. Null when no location is live.
    /// </summary>
    public static string? ChoosePrimary(RecoveryState recovery, string[] locations, IReadOnlyList<DataNodeStatus> nodes)
    {
        DataNodeStatus? best = null;
        for (var round = 0; round < 2 && best is null; round++)
        {
            if (round == 1)
            {
                recovery.ChosenPrimaries.Clear(); // Every live replica was tried: start over.
            }

            foreach (var node in nodes)
            {
                if (!node.IsAlive || recovery.ChosenPrimaries.Contains(node.Id) || Array.IndexOf(locations, node.Id) < 0)
                {
                    continue;
                }

                if (best is null || node.LastHeartbeat > best.LastHeartbeat
                    || (node.LastHeartbeat == best.LastHeartbeat && string.CompareOrdinal(node.Id, best.Id) < 0))
                {
                    best = node;
                }
            }
        }

        if (best is not null)
        {
            recovery.ChosenPrimaries.Add(best.Id);
        }

        return best?.Id;
    }
}
