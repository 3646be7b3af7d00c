using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;
using LeaseService.Core.Storage;

namespace LeaseService.Core;

// Files that are not in memory: a closed file lives only in the store once its record is durable,
// and a call that needs it reads it there, outside the lock, then decides under the lock (where
// the file in memory, if any, wins). DeleteFile removes a file, its blocks and any lease on it.
public sealed partial class LeaseManager
{
    /// <summary>Reads of one path before a call gives up with Unavailable (each retry follows an eviction of the same path).</summary>
    private const int MaxStoreReads = 4;

    /// <summary>
    /// Deletes <paramref name="path"/>: the file, its blocks and any lease on it (the holder's other
    /// files keep their lease), as HDFS delete; answers once the delete is durable. A block
    /// recovery in flight for it ends as stale. The former holder's next call on the path answers
    /// NotFound, and a write to one of its blocks is fenced (Aborted). A missing path: NotFound.
    /// </summary>
    /// <param name="path">The file to delete.</param>
    /// <param name="principal">
    /// The authenticated caller who is not an admin, or null (no authentication, or an admin): an
    /// open file whose holder another principal owns answers PermissionDenied and nothing changes.
    /// </param>
    public ValueTask<Outcome<DeleteResult>> DeleteFileAsync(string path, string? principal = null)
    {
        var invalid = LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<DeleteResult>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        return WithStoredFileAsync(path, (read, effects) => DeleteFileLocked(path, principal, read, effects));
    }

    private Outcome<DeleteResult>? DeleteFileLocked(string path, string? principal, StoreRead? read, Effects effects)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (BlockedLocked() is { } blocked)
        {
            return Outcome<DeleteResult>.Fail(OutcomeKind.Unavailable, blocked);
        }

        if (!TryResolveExistingLocked(path, read, effects, out var file, out Outcome<DeleteResult>? answer))
        {
            return answer;
        }
        var holder = string.Empty;
        if (file.UnderConstruction)
        {
            var lease = file.Lease!;
            if (principal is not null && lease.Principal is { } owner && owner != principal)
            {
                return Outcome<DeleteResult>.Fail(
                    OutcomeKind.PermissionDenied,
                    $"{LeaseValidation.Echo(path)} is open for write by holder {LeaseValidation.Echo(lease.Holder)}, which another principal owns; recover its lease first or ask an admin");
            }

            holder = lease.Holder;
            CloseLocked(file); // Its lease and any recovery end; a recovery result that comes later is stale.
        }

        _namespace.Delete(file);
        effects.Delete(file);
        _counters.Deletes++;
        var detail = holder.Length == 0 ? string.Empty : $" while open for write by {holder}; its lease on it is gone";
        effects.After(() => LogDeleted(path, detail));
        return Outcome<DeleteResult>.Ok(new DeleteResult(holder));
    }

    /// <summary>
    /// For a step on a file that must exist: true with the file (observed, so the reply waits for
    /// its pending record); false with the answer — NotFound (a pending delete observed likewise),
    /// or null when the read was stale and the step must return null to be run again.
    /// </summary>
    private bool TryResolveExistingLocked<T>(string path, StoreRead? read, Effects effects, [NotNullWhen(true)] out FileEntry? file, out Outcome<T>? answer)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        answer = null;
        switch (_namespace.ResolveLocked(path, read, out file))
        {
            case Resolution.Stale:
                return false;
            case Resolution.Missing:
                effects.Observe(_namespace.PendingDelete(path));
                answer = Outcome<T>.Fail(OutcomeKind.NotFound, $"{LeaseValidation.Echo(path)} does not exist");
                return false;
        }

        Debug.Assert(file is not null, "Found comes with its file");
        effects.Observe(file);
        return true;
    }

    /// <summary>
    /// Runs <paramref name="stepLocked"/> (under the lock, sealed like every step) with a read of
    /// <paramref name="path"/>'s record made just before, outside the lock, when the file was not
    /// in memory. The step answers null when that read is stale (the path left memory while it ran,
    /// or was in memory then and is not now): it is read again, up to <see cref="MaxStoreReads"/> times.
    /// </summary>
    private async ValueTask<Outcome<T>> WithStoredFileAsync<T>(string path, Func<StoreRead?, Effects, Outcome<T>?> stepLocked)
    {
        for (var attempt = 0; attempt < MaxStoreReads; attempt++)
        {
            StoreRead? read;
            try
            {
                read = await ReadStoredAsync(path).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is LeaseStoreException or FormatException)
            {
                return Outcome<T>.Fail(OutcomeKind.Unavailable, $"storage unavailable: {ex.Message}");
            }

            var effects = new Effects();
            Outcome<T>? outcome;
            Commit? commit;
            try
            {
                lock (_lock)
                {
                    outcome = stepLocked(read, effects);
                    commit = outcome is null ? null : SealLocked(effects);
                }
            }
            catch (LeaseStoreException ex)
            {
                // The read's record contradicts memory (ResolveLocked changed nothing).
                return Outcome<T>.Fail(OutcomeKind.Unavailable, $"storage unavailable: {_store.Description}: {ex.Message}");
            }

            if (outcome is { } answer)
            {
                // Complete's steps (LeaseManager.Storage.cs; keep the two alike), awaited here:
                // one state machine per call, not two.
                if (commit is not null && await commit.Durable.ConfigureAwait(false) is { } failure)
                {
                    return NotDurable<T>(failure);
                }

                effects.RunAfter();
                return answer;
            }
        }

        return Outcome<T>.Fail(OutcomeKind.Unavailable, $"{LeaseValidation.Echo(path)} changed while it was read from the store; retry");
    }

    /// <summary>
    /// The stored record of <paramref name="path"/> when the file is not in memory (null when no
    /// read was needed). Outside the lock: the store may do I/O.
    /// </summary>
    private async ValueTask<StoreRead?> ReadStoredAsync(string path)
    {
        FileNamespace origin;
        long mark;
        lock (_lock)
        {
            if (!_namespace.NeedsStoreRead(path))
            {
                return null;
            }

            origin = _namespace;
            mark = origin.Evictions;
        }

        var key = RecordCodec.FileKey(path);
        var value = await _store.ReadAsync(key).ConfigureAwait(false);
        if (value is null)
        {
            return new StoreRead(origin, mark, null);
        }

        try
        {
            return new StoreRead(origin, mark, RecordCodec.DecodeFile(path, value));
        }
        catch (FormatException ex)
        {
            throw new LeaseStoreException($"{_store.Description}: corrupt record of {LeaseValidation.Echo(path)}: {ex.Message}", ex);
        }
    }
}
