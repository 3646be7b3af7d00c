using System.Buffers.Text;
using System.Diagnostics;
using System.Text;
using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;

namespace LeaseService.Core;

public sealed partial class LeaseManager
{
    private const string PageTokenPrefix = "p1.";

    /// <summary>
    /// Reads never answer with state that is not durable yet: a read of a file whose last change
    /// is still queued waits for that commit (a barrier), so no reply or fencing token gets
    /// ahead of its record. Usually nothing is queued and the answer is immediate.
    /// </summary>
    private ValueTask<Outcome<T>> Read<T>(Func<Effects, Outcome<T>> readLocked)
    {
        var effects = new Effects();
        Outcome<T> outcome;
        Commit? barrier;
        lock (_lock)
        {
            if (BlockedLocked() is { } blocked)
            {
                return ValueTask.FromResult(Outcome<T>.Fail(OutcomeKind.Unavailable, blocked));
            }

            outcome = readLocked(effects);
            barrier = SealLocked(effects);
        }

        return Complete(barrier, effects, outcome);
    }

    /// <summary>The lease of an open file; NotFound for a missing or closed file.</summary>
    public ValueTask<Outcome<LeaseView>> GetLeaseAsync(string path)
    {
        var invalid = LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<LeaseView>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        return Read(effects =>
        {
            var file = _namespace.TryGetFile(path, out var found) ? found : null;
            ObserveLocked(effects, path, file); // Absent because of a delete too: answer once it is durable.
            if (file is not { UnderConstruction: true })
            {
                return Outcome<LeaseView>.Fail(OutcomeKind.NotFound, $"{LeaseValidation.Echo(path)} has no lease (not open for write)");
            }

            return Outcome<LeaseView>.Ok(View(file, _time.GetTimestamp()));
        });
    }

    /// <summary>A file with its blocks; NotFound when it does not exist.</summary>
    public ValueTask<Outcome<FileView>> GetFileAsync(string path)
    {
        var invalid = LeaseValidation.CheckPath(path);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<FileView>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        return WithStoredFileAsync<FileView>(path, (read, effects) =>
        {
            if (BlockedLocked() is { } blocked)
            {
                return Outcome<FileView>.Fail(OutcomeKind.Unavailable, blocked);
            }

            if (!TryResolveExistingLocked(path, read, effects, out var file, out Outcome<FileView>? answer))
            {
                return answer;
            }
            var blocks = new BlockView[file.Blocks?.Count ?? 0];
            for (var i = 0; i < blocks.Length; i++)
            {
                blocks[i] = ToView(file.Blocks![i]);
            }

            return Outcome<FileView>.Ok(new FileView(file.Path, file.UnderConstruction, file.Length, file.Lease?.Holder ?? string.Empty, file.Epoch, blocks));
        });
    }

    /// <summary>
    /// The NameNode's fence for a write to <paramref name="blockId"/>: the block must be the open
    /// file's, at <paramref name="generationStamp"/>, not under recovery or complete (Aborted: the
    /// writer was fenced), and when <paramref name="epoch"/> is non-zero it must be the file's
    /// current epoch. A block the holder committed by closing takes only the pipeline close (a
    /// write with no data; FailedPrecondition otherwise).
    /// </summary>
    /// <remarks>
    /// With <paramref name="principal"/> (an authenticated caller) the block must belong to a file
    /// whose holder that principal owns — the block access token of HDFS — else PermissionDenied.
    /// </remarks>
    public ValueTask<Outcome<BlockView>> CheckWriteAsync(long blockId, long generationStamp, long epoch, bool hasData, string? principal = null)
    {
        return Read(effects =>
        {
            if (!_namespace.TryGetBlock(blockId, out var block))
            {
                // Only the blocks of files in memory are mapped; any other id this service issued
                // belonged to a file that is closed or deleted, or was dropped by recovery: fenced.
                // The delete or drop may still be queued: answer once everything decided before is durable.
                effects.Observe(_sequence);
                return blockId > 0 && blockId <= _lastBlockId
                    ? Outcome<BlockView>.Fail(OutcomeKind.Aborted, $"fenced: block {blockId} is not a block of a file open for write (its file was closed or deleted, or recovery dropped it); it takes no more writes")
                    : Outcome<BlockView>.Fail(OutcomeKind.NotFound, $"block {blockId} does not exist");
            }

            var file = block.File;
            effects.Observe(file);
            if (principal is not null && file.Lease is { Principal: { } owner } lease && owner != principal)
            {
                return Outcome<BlockView>.Fail(
                    OutcomeKind.PermissionDenied,
                    $"block {blockId} of {LeaseValidation.Echo(file.Path)} belongs to holder {LeaseValidation.Echo(lease.Holder)}, which another principal owns");
            }

            if (epoch != 0 && epoch != file.Epoch)
            {
                return Outcome<BlockView>.Fail(
                    OutcomeKind.Aborted,
                    $"fenced: epoch {epoch} of {LeaseValidation.Echo(file.Path)} is no longer current (now {file.Epoch}); the lease was recovered or granted again");
            }

            if (generationStamp != block.GenerationStamp)
            {
                return Outcome<BlockView>.Fail(
                    OutcomeKind.Aborted,
                    $"fenced: generation stamp {generationStamp} of block {blockId} is not current (now {block.GenerationStamp})");
            }

            if (file.Recovery is not null || !file.UnderConstruction || block.State is BlockState.UnderRecovery or BlockState.Complete)
            {
                return Outcome<BlockView>.Fail(
                    OutcomeKind.Aborted,
                    $"fenced: block {blockId} of {LeaseValidation.Echo(file.Path)} is {block.State}{(file.UnderConstruction ? string.Empty : " and the file is closed")}; it takes no more writes");
            }

            if (block.State == BlockState.Committed && hasData)
            {
                return Outcome<BlockView>.Fail(
                    OutcomeKind.FailedPrecondition,
                    $"block {blockId} of {LeaseValidation.Echo(file.Path)} was committed by a close; only closing its pipeline (finalize with no data) is accepted");
            }

            return Outcome<BlockView>.Ok(ToView(block));
        });
    }

    /// <summary>
    /// Pages through open files in path order, filtered by holder and/or path prefix. The page
    /// token is opaque to callers; it names the last path served, so paging is stable while
    /// files open and close. With <paramref name="owner"/> (a caller who is not an admin) only the
    /// files of holders that principal owns are listed; a page costs O(h·(log n + page size)) for
    /// its h holders.
    /// </summary>
    public ValueTask<Outcome<LeasePage>> ListLeasesAsync(string? holder, string? pathPrefix, int pageSize, string? pageToken, string? owner = null)
    {
        if (pageSize < 0)
        {
            return ValueTask.FromResult(Outcome<LeasePage>.Fail(OutcomeKind.InvalidArgument, "page_size must not be negative"));
        }

        var invalid = (string.IsNullOrEmpty(holder) ? null : LeaseValidation.CheckHolderFilter(holder))
            ?? LeaseValidation.CheckPathPrefix(pathPrefix);
        if (invalid is not null)
        {
            return ValueTask.FromResult(Outcome<LeasePage>.Fail(OutcomeKind.InvalidArgument, invalid));
        }

        string? after = null;
        if (!string.IsNullOrEmpty(pageToken) && !TryDecodePageToken(pageToken, out after))
        {
            return ValueTask.FromResult(Outcome<LeasePage>.Fail(OutcomeKind.InvalidArgument, "page_token is not a token this service issued"));
        }

        var size = pageSize == 0 ? LeaseValidation.DefaultPageSize : Math.Min(pageSize, LeaseValidation.MaxPageSize);
        var prefix = pathPrefix ?? string.Empty;
        var files = new List<FileEntry>(Math.Min(size + 1, 64));
        var views = new List<LeaseView>(Math.Min(size, 64));
        return Read(effects =>
        {
            // What a page leaves out (a file deleted, closed or taken over by a change still
            // queued) is state too: the page waits for every change decided before it.
            effects.Observe(_sequence);
            if (owner is not null)
            {
                CollectOwnedLocked(owner, holder, after, prefix, size + 1, files);
            }
            else if (string.IsNullOrEmpty(holder))
            {
                _namespace.CollectOpen(after, prefix, size + 1, files);
            }
            else if (_leases.TryGet(holder, out var lease))
            {
                lease.Files.Collect(after, prefix, size + 1, files);
            }

            var now = _time.GetTimestamp();
            for (var i = 0; i < files.Count && i < size; i++)
            {
                effects.Observe(files[i]);
                views.Add(View(files[i], now));
            }

            var next = files.Count > size ? EncodePageToken(views[^1].Path) : string.Empty;
            return Outcome<LeasePage>.Ok(new LeasePage(views, next));
        });
    }

    /// <summary>
    /// The first <paramref name="max"/> open files after <paramref name="after"/> under
    /// <paramref name="prefix"/>, in path order, of the holders <paramref name="owner"/> owns
    /// (only <paramref name="holder"/> when given).
    /// </summary>
    private void CollectOwnedLocked(string owner, string? holder, string? after, string prefix, int max, List<FileEntry> into)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!string.IsNullOrEmpty(holder))
        {
            if (_leases.TryGet(holder, out var lease) && lease.Principal == owner)
            {
                lease.Files.Collect(after, prefix, max, into);
            }

            return;
        }

        var owned = _leases.OwnedBy(owner);
        if (owned.Count == 1)
        {
            owned.First().Files.Collect(after, prefix, max, into);
            return;
        }

        // Each holder's first max files, merged: the first max of the union are among them.
        foreach (var lease in owned)
        {
            lease.Files.Collect(after, prefix, max, into);
        }

        into.Sort(static (a, b) => a.PathBytes.SequenceCompareTo(b.PathBytes));
        if (into.Count > max)
        {
            into.RemoveRange(max, into.Count - max);
        }
    }

    /// <summary>Counts for metrics; O(1).</summary>
    public LeaseStatistics GetStatistics()
    {
        lock (_lock)
        {
            _namespace.Retire(_writer.DurableSequence);
            // A lease within a failover's grace counts as renewed in the future: its age is zero.
            var oldest = _leases.Oldest is { } head ? TimeSpan.FromTicks(Math.Max(0, _time.GetElapsedTime(head.LastRenewed).Ticks)) : TimeSpan.Zero;
            return new LeaseStatistics(_leases.Count, _namespace.OpenCount, _namespace.FileCount, _recoveries.Count, oldest) { FilesInMemory = _namespace.InMemoryCount };
        }
    }

    private LeaseView View(FileEntry file, long now)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var lease = file.Lease!;
        var idle = now - lease.LastRenewed;
        var elapsed = _time.GetElapsedTime(lease.LastRenewed, now);
        var state = file.Recovery is not null ? LeaseState.Recovering
            : idle > _softLimit ? LeaseState.SoftExpired
            : LeaseState.Active;
        return new LeaseView(
            file.Path,
            lease.Holder,
            file.ClientMachine,
            state,
            file.Epoch,
            _time.GetUtcNow() - elapsed,
            Remaining(_options.SoftLimit, elapsed),
            Remaining(_options.HardLimit, elapsed),
            file.Recovery is null ? 0 : file.LastBlock!.RecoveryId);
    }

    private static TimeSpan Remaining(TimeSpan limit, TimeSpan elapsed) => elapsed >= limit ? TimeSpan.Zero : limit - elapsed;

    private static BlockView ToView(BlockEntry block)
        => new(block.Id, block.GenerationStamp, block.NumBytes, block.State, block.Locations);

    private static string EncodePageToken(string path)
        => PageTokenPrefix + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(path));

    private static bool TryDecodePageToken(string token, out string? path)
    {
        path = null;
        if (!token.StartsWith(PageTokenPrefix, StringComparison.Ordinal) || token.Length > 8192)
        {
            return false;
        }

        try
        {
            path = new UTF8Encoding(false, true).GetString(Base64Url.DecodeFromChars(token.AsSpan(PageTokenPrefix.Length)));
        }
        catch (FormatException)
        {
            return false;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        return LeaseValidation.CheckPath(path) is null;
    }
}
