using System.Diagnostics;
using System.Threading.Channels;
using LeaseService.Core.Storage;

namespace LeaseService.Core.Internal.Storage;

/// <summary>
/// A unit handed to the writer: the records of one locked step (possibly none: a barrier that
/// only waits for everything queued before it), completed once they are durable or failed.
/// </summary>
internal sealed class Commit(List<StoreWrite>? writes, long sequence, bool probe = false)
{
    private readonly TaskCompletionSource<string?> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<StoreWrite>? Writes { get; } = writes;

    public long Sequence { get; } = sequence;

    /// <summary>A write that tests whether a failed store works again.</summary>
    public bool IsProbe { get; } = probe;

    /// <summary>Null once durable; the failure reason otherwise.</summary>
    public Task<string?> Durable => _done.Task;

    public void Complete(string? failure) => _done.TrySetResult(failure);
}

/// <summary>
/// Group commit (HDFS FSEditLog.logSync): commits are queued in the order they were decided
/// (under the manager's lock), and one writer persists everything queued as one synced batch, in
/// that order, then completes each commit. After a failed batch every later commit fails at once
/// (its records may depend on the failed ones) until a probe succeeds. After a fence (the replica
/// stopped being the store's writer) every commit queued before it fails without being written:
/// it was decided on state the next term no longer has.
/// </summary>
internal sealed class GroupCommitWriter
{
    /// <summary>At most this many commits per batch, so one batch stays a bounded write.</summary>
    public const int MaxCommitsPerBatch = 4096;

    private readonly ILeaseStore _store;
    private readonly Action<string> _onFailure;
    private readonly Action<int, TimeSpan> _onBatch;
    private readonly Channel<Commit> _queue = Channel.CreateUnbounded<Commit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal); // key -> its write in the batch being collected
    private long _durableSequence;
    private bool _failed;
    private Fence? _fence;

    /// <param name="store">The engine.</param>
    /// <param name="onFailure">Told the reason when a batch fails (before any commit of it completes).</param>
    /// <param name="onBatch">Told each durable batch's record count and duration (metrics).</param>
    public GroupCommitWriter(ILeaseStore store, Action<string> onFailure, Action<int, TimeSpan> onBatch)
    {
        _store = store;
        _onFailure = onFailure;
        _onBatch = onBatch;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The sequence of the last commit known durable.</summary>
    public long DurableSequence => Volatile.Read(ref _durableSequence);

    /// <summary>Queues a commit. Called under the manager's lock, so queue order is decision order.</summary>
    public void Enqueue(Commit commit)
    {
        if (!_queue.Writer.TryWrite(commit))
        {
            commit.Complete("the store is closed");
        }
    }

    /// <summary>
    /// Fails every commit up to <paramref name="sequence"/> that is not yet handed to the store
    /// (called under the manager's lock when the replica is deposed, so no commit of the old term
    /// can be written under a later term's guard). A batch already handed to the store finishes
    /// there: the store's own guard decides it.
    /// </summary>
    public void FenceThrough(long sequence, string reason) => Volatile.Write(ref _fence, new Fence(sequence, reason));

    /// <summary>Stops accepting commits and waits for the queued ones to finish.</summary>
    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<Commit>();
        var writes = new List<StoreWrite>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var maxKeys = _store.MaxKeysPerBatch;
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (batch.Count < MaxCommitsPerBatch && _queue.Reader.TryRead(out var commit))
            {
                if (commit.IsProbe)
                {
                    await FlushAsync(batch, writes, keys).ConfigureAwait(false);
                    await ProbeAsync(commit).ConfigureAwait(false);
                    continue;
                }

                // Cut between commits so a batch stays one atomic write of the engine (etcd: one
                // transaction); a commit alone above the limit still goes whole (see MaxKeysPerBatch).
                if (maxKeys != int.MaxValue && commit.Writes is { } commitWrites && !FitsLimit(commitWrites, keys, maxKeys))
                {
                    await FlushAsync(batch, writes, keys).ConfigureAwait(false);
                    FitsLimit(commitWrites, keys, maxKeys);
                }

                batch.Add(commit);
            }

            await FlushAsync(batch, writes, keys).ConfigureAwait(false);
        }
    }

    /// <summary>Adds the commit's keys to <paramref name="keys"/> when the batch stays within the limit (or is empty); false, unchanged, otherwise.</summary>
    private static bool FitsLimit(List<StoreWrite> commitWrites, HashSet<string> keys, int maxKeys)
    {
        var added = 0;
        foreach (var write in commitWrites)
        {
            if (!keys.Contains(write.Key))
            {
                added++;
            }
        }

        if (keys.Count > 0 && keys.Count + added > maxKeys)
        {
            return false;
        }

        foreach (var write in commitWrites)
        {
            keys.Add(write.Key);
        }

        return true;
    }

    private async Task FlushAsync(List<Commit> batch, List<StoreWrite> writes, HashSet<string> keys)
    {
        keys.Clear();
        FailFenced(batch);
        if (batch.Count == 0)
        {
            return;
        }

        string? failure = null;
        if (_failed)
        {
            failure = "an earlier write failed";
        }
        else
        {
            foreach (var commit in batch)
            {
                if (commit.Writes is not null)
                {
                    Collect(commit.Writes, writes);
                }
            }

            _positions.Clear();

            if (writes.Count > 0)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await _store.WriteAsync(writes).ConfigureAwait(false);
                    _onBatch(writes.Count, Stopwatch.GetElapsedTime(start));
                }
                catch (Exception ex)
                {
                    failure = ex.Message;
                    _failed = true;
                    _onFailure(failure);
                }
            }
        }

        if (failure is null)
        {
            Volatile.Write(ref _durableSequence, batch[^1].Sequence);
        }

        foreach (var commit in batch)
        {
            commit.Complete(failure);
        }

        batch.Clear();
        writes.Clear();
    }

    /// <summary>
    /// Appends <paramref name="commitWrites"/> to the batch's <paramref name="writes"/>, one record
    /// per key: a later write of a key replaces the earlier one in place. The batch is applied
    /// whole, so only the last write of a key was ever visible; every grant rewrites the counters
    /// record, and without this a batch of 64 grants would write it 64 times.
    /// </summary>
    private void Collect(List<StoreWrite> commitWrites, List<StoreWrite> writes)
    {
        foreach (var write in commitWrites)
        {
            if (_positions.TryGetValue(write.Key, out var at))
            {
                writes[at] = write;
            }
            else
            {
                _positions.Add(write.Key, writes.Count);
                writes.Add(write);
            }
        }
    }

    /// <summary>Completes and removes the commits at the head of <paramref name="batch"/> that the fence covers.</summary>
    private void FailFenced(List<Commit> batch)
    {
        var fenced = 0;
        while (fenced < batch.Count && FailIfFenced(batch[fenced]))
        {
            fenced++;
        }

        batch.RemoveRange(0, fenced);
    }

    /// <summary>Completes <paramref name="commit"/> with the fence's reason when the fence covers it.</summary>
    private bool FailIfFenced(Commit commit)
    {
        if (Volatile.Read(ref _fence) is not { } fence || commit.Sequence > fence.Sequence)
        {
            return false;
        }

        commit.Complete(fence.Reason);
        return true;
    }

    private async Task ProbeAsync(Commit probe)
    {
        if (FailIfFenced(probe))
        {
            return;
        }

        try
        {
            await _store.WriteAsync(probe.Writes!).ConfigureAwait(false);
            _failed = false;
            Volatile.Write(ref _durableSequence, probe.Sequence);
            probe.Complete(null);
        }
        catch (Exception ex)
        {
            probe.Complete(ex.Message);
        }
    }

    private sealed record Fence(long Sequence, string Reason);
}
