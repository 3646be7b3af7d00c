using System.Runtime.CompilerServices;

namespace LeaseService.Core.Storage;

/// <summary>
/// A store that lives as long as the process (Storage:Provider=InMemory, for benchmarks and tests
/// that want no disk). Batches are atomic; nothing survives a restart.
/// </summary>
public sealed class InMemoryLeaseStore : ILeaseStore
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, byte[]> _records = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public string Description => "InMemory (nothing survives a restart)";

    /// <inheritdoc/>
    public async IAsyncEnumerable<StoreEntry> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        KeyValuePair<string, byte[]>[] snapshot;
        lock (_gate)
        {
            snapshot = [.. _records];
        }

        foreach (var (key, value) in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new StoreEntry(key, value);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            // A copy: a caller may not change what the store holds.
            return ValueTask.FromResult<byte[]?>(_records.TryGetValue(key, out var value) ? [.. value] : null);
        }
    }

    /// <inheritdoc/>
    public ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            foreach (var write in batch)
            {
                if (write.Value is null)
                {
                    _records.Remove(write.Key);
                }
                else
                {
                    _records[write.Key] = write.Value;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
