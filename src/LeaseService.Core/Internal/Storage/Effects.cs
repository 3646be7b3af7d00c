namespace LeaseService.Core.Internal.Storage;

/// <summary>
/// What one locked step leaves for after the lock: the files it changed (their records are
/// persisted), the highest unsynced change it read (its reply waits for that), and the actions
/// to run once everything is durable (logs, DataNode calls). One per call; not thread-safe: it
/// is filled under the manager's lock and drained by the same call after it.
/// </summary>
internal sealed class Effects
{
    /// <summary>Above this many changed files, membership is checked in a set rather than by scanning the list.</summary>
    private const int ScanLimit = 16;

    private List<Action>? _after;
    private HashSet<FileEntry>? _changedSet;

    /// <summary>Files whose state changed, once each, in the order they first changed.</summary>
    public List<FileEntry> Changed { get; } = [];

    /// <summary>Paths this step deleted, once each (their records are deleted at the end of the step).</summary>
    public List<string> Deleted { get; } = [];

    /// <summary>The highest commit sequence among the files this step read or changed.</summary>
    public long Observed { get; private set; }

    /// <summary>Records that <paramref name="file"/> changed (its record is written at the end of the step).</summary>
    public void Change(FileEntry file)
    {
        if (Changed.Count > 0 && ReferenceEquals(Changed[^1], file))
        {
            return; // The common repeat: one step changing the same file twice in a row.
        }

        if (_changedSet is not null)
        {
            if (_changedSet.Add(file))
            {
                Changed.Add(file);
            }

            return;
        }

        if (Changed.Contains(file))
        {
            return;
        }

        Changed.Add(file);
        if (Changed.Count > ScanLimit)
        {
            _changedSet = new HashSet<FileEntry>(Changed, ReferenceEqualityComparer.Instance);
        }
    }

    /// <summary>Records that <paramref name="file"/> was deleted (its record is deleted at the end of the step).</summary>
    public void Delete(FileEntry file)
    {
        Changed.Remove(file);
        Deleted.Add(file.Path);
    }

    /// <summary>Records that the reply depends on <paramref name="file"/>'s state.</summary>
    public void Observe(FileEntry file) => Observed = Math.Max(Observed, file.PendingSequence);

    /// <summary>Records that the reply depends on commit <paramref name="sequence"/> (e.g. a pending delete; 0 for none).</summary>
    public void Observe(long sequence) => Observed = Math.Max(Observed, sequence);

    /// <summary>Runs <paramref name="action"/> once the step's records are durable (never if they fail).</summary>
    public void After(Action action) => (_after ??= []).Add(action);

    /// <summary>How many deferred actions there are so far (a mark for <see cref="AfterInsert"/>).</summary>
    public int AfterCount => _after?.Count ?? 0;

    /// <summary>Inserts a deferred action at <paramref name="index"/> (an earlier <see cref="AfterCount"/>).</summary>
    public void AfterInsert(int index, Action action) => (_after ??= []).Insert(index, action);

    /// <summary>Runs the deferred actions, in order. Called outside the lock.</summary>
    public void RunAfter()
    {
        if (_after is null)
        {
            return;
        }

        foreach (var action in _after)
        {
            action();
        }

        _after = null;
    }
}
