using System.Runtime.CompilerServices;
using LeaseService.Core.Storage;

namespace LeaseService.Core.Tests.Storage;

/// <summary>
/// An in-memory store whose writes can be made to fail (as a full or broken disk does) or to wait
/// until the test releases them, to observe what callers see before their records are durable.
/// </summary>
internal sealed class ControllableStore : ILeaseStore
{
    private readonly InMemoryLeaseStore _inner = new();
    private TaskCompletionSource? _gate;
    private Func<Task>? _onNextRead;

    /// <summary>When set, every write throws with this reason and changes nothing.</summary>
    public string? FailWith { get; set; }

    public int Writes { get; private set; }

    /// <summary>The keys of every successful write, in the order the store was given them.</summary>
    public List<string[]> WrittenKeys { get; } = [];

    /// <summary>
    /// When set, the next write applies every record but those with this key and then throws: an
    /// engine that writes a large batch in several steps (etcd: several transactions) and failed
    /// after the first.
    /// </summary>
    public string? ApplyNextWriteWithout { get; set; }

    public string Description => "test store";

    /// <summary>Holds every write until <see cref="Release"/>.</summary>
    public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    /// <summary>Completed when a write reached the store and waits for <see cref="Release"/>.</summary>
    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IAsyncEnumerable<StoreEntry> ReadAllAsync(CancellationToken cancellationToken = default) => _inner.ReadAllAsync(cancellationToken);

    /// <summary>When set, every point read throws <see cref="LeaseStoreException"/> with this reason.</summary>
    public string? FailReadsWith { get; set; }

    public int PointReads { get; private set; }

    /// <summary>Runs once after the next point read and before it answers (to interleave another operation).</summary>
    public Func<Task>? OnNextRead { get => _onNextRead; set => _onNextRead = value; }

    public async ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        PointReads++;
        if (FailReadsWith is { } reason)
        {
            throw new LeaseStoreException(reason);
        }

        var value = await _inner.ReadAsync(key, cancellationToken);
        if (Interlocked.Exchange(ref _onNextRead, null) is { } hook)
        {
            await hook();
        }

        return value;
    }

    public async ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            Held.TrySetResult();
            await gate.Task;
        }

        if (FailWith is { } reason)
        {
            throw new IOException(reason);
        }

        if (ApplyNextWriteWithout is { } left)
        {
            ApplyNextWriteWithout = null;
            await _inner.WriteAsync([.. batch.Where(w => w.Key != left)], cancellationToken);
            throw new IOException("the second transaction failed");
        }

        Writes++;
        WrittenKeys.Add([.. batch.Select(w => w.Key)]);
        await _inner.WriteAsync(batch, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// A store guarded like etcd's: a write reads the election guard when the writer gets to it (not
/// when the commit was decided) and is refused unless that guard is the key's current revision.
/// The next write's answer can be delayed after it is applied (a slow etcd response); writes can
/// fail; a hook can run between the next full read's snapshot and its answer.
/// </summary>
internal sealed class TermGuardedStore : ILeaseStore
{
    private readonly InMemoryLeaseStore _inner = new();
    private TaskCompletionSource? _gate;
    private Func<Task>? _afterNextReadAll;

    /// <summary>When set, every write throws with this reason and changes nothing.</summary>
    public string? FailWith { get; set; }

    /// <summary>Runs once after the next full read took its snapshot, before it answers.</summary>
    public Func<Task>? AfterNextReadAll { get => _afterNextReadAll; set => _afterNextReadAll = value; }

    /// <summary>The guard this replica writes with; null while it holds no key.</summary>
    public long? Guard { get; set; } = 1;

    /// <summary>The election key's current revision.</summary>
    public long KeyRevision { get; private set; } = 1;

    /// <summary>Completed when the delayed write has been applied.</summary>
    public TaskCompletionSource Applied { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Description => "term-guarded test store";

    /// <summary>This replica holds the key again, in a new term.</summary>
    public void StartTerm(long revision)
    {
        KeyRevision = revision;
        Guard = revision;
    }

    public void DelayNextAnswer() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public async IAsyncEnumerable<StoreEntry> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var snapshot = new List<StoreEntry>();
        await foreach (var entry in _inner.ReadAllAsync(cancellationToken))
        {
            snapshot.Add(entry);
        }

        if (Interlocked.Exchange(ref _afterNextReadAll, null) is { } hook)
        {
            await hook();
        }

        foreach (var entry in snapshot)
        {
            yield return entry;
        }
    }

    public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default) => _inner.ReadAsync(key, cancellationToken);

    public async ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
    {
        if (FailWith is { } reason)
        {
            throw new IOException(reason);
        }

        var guard = Guard ?? throw new LeaseStoreException("not the active replica");
        if (guard != KeyRevision)
        {
            throw new LeaseStoreException("the guard failed");
        }

        await _inner.WriteAsync(batch, cancellationToken);
        if (Volatile.Read(ref _gate) is { } gate)
        {
            Applied.TrySetResult();
            await gate.Task;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
