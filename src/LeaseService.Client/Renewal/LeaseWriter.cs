using System.Runtime.ExceptionServices;
using Grpc.Core;
using LeaseService.Client.Renewal.Internal;
using LeaseService.Contracts.V1;

namespace LeaseService.Client.Renewal;

/// <summary>Settings of a <see cref="LeaseWriter"/>. Immutable.</summary>
public sealed record LeaseWriterOptions
{
    /// <summary>Shown by the server as the writer's machine. Default: none.</summary>
    public string? ClientMachine { get; init; }

    /// <summary>
    /// The writer's RPC timeout: when set, the holder is renewed at least every half of it (as HDFS
    /// does for a client timeout). Default null: half the soft limit.
    /// </summary>
    public TimeSpan? RpcTimeout { get; init; }

    /// <summary>First pause when the close answers "not yet" (closed=false) or UNAVAILABLE; doubles up to <see cref="CloseRetryMaxDelay"/>. Default 100 ms.</summary>
    public TimeSpan CloseRetryInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest pause between close attempts. Default 2 s.</summary>
    public TimeSpan CloseRetryMaxDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Close attempts before <see cref="LeaseWriter.CloseAsync"/> gives up with <see cref="TimeoutException"/> (the path stays open and renewed). Default 30.</summary>
    public int MaxCloseAttempts { get; init; } = 30;

    /// <summary>Where block bytes go. Default null: the server's simulated DataNodes (<see cref="SimulatorBlockWriter"/>).</summary>
    public IBlockWriter? BlockWriter { get; init; }
}

/// <summary>
/// Writes one file through LeaseService: opens the path (AddLease and registration with the
/// renewer), allocates blocks, writes them through the DataNode simulator with the fencing epoch on
/// every write, and closes (RemoveLease, retrying while the last block waits for replicas).
/// Every operation stops when the lease is in doubt: it throws <see cref="LeaseLostException"/>
/// instead of sending, and a call in flight is cancelled when <see cref="LeaseToken"/> trips.
/// Not thread-safe: one writer per file, used by one flow at a time.
/// </summary>
/// <remarks>
/// Disposing a writer that was not closed aborts it, as HDFS's abort: the path is no longer renewed
/// for its own sake, and the server recovers the file after its limits once the holder stops
/// renewing (RenewLease renews every path of the holder, so not while it has another path open).
/// Call <see cref="CloseAsync"/> to commit.
/// </remarks>
public sealed class LeaseWriter : IAsyncDisposable
{
    private readonly LeaseClient _client;
    private readonly LeaseRenewer _renewer;
    private readonly LeaseWriterOptions _options;
    private readonly IBlockWriter _blocks;
    private readonly IOffsetBlockWriter? _offsetBlocks; // _blocks, when its writes can name their offset.
    private Block? _block;
    private bool _blockFinalized;
    private ulong _blockBytes; // Bytes of the current block whose writes were acknowledged.
    private UnconfirmedWrite? _unconfirmed; // The last write of data to it that failed without a definite answer.
    private bool _closed;
    private bool _aborted;
    private bool _disposed;

    private LeaseWriter(LeaseClient client, LeaseRenewer renewer, LeaseRegistration registration, LeaseInfo lease, LeaseWriterOptions options)
    {
        _client = client;
        _renewer = renewer;
        _options = options;
        _blocks = options.BlockWriter ?? new SimulatorBlockWriter(client);
        _offsetBlocks = _blocks as IOffsetBlockWriter;
        Registration = registration;
        Lease = lease;
        Epoch = lease.Epoch;
    }

    /// <summary>The holder writing.</summary>
    public string Holder => Registration.Holder;

    /// <summary>The file.</summary>
    public string Path => Registration.Path;

    /// <summary>The lease as granted at open.</summary>
    public LeaseInfo Lease { get; }

    /// <summary>The fencing epoch sent with every write (from AddLease, then AddBlock).</summary>
    public ulong Epoch { get; private set; }

    /// <summary>The renewer's registration of this path: validity bound, state, abort reason.</summary>
    public LeaseRegistration Registration { get; }

    /// <summary>Trips when the writer must stop: validity bound passed, lease lost, closed or aborted.</summary>
    public CancellationToken LeaseToken => Registration.Token;

    /// <summary>The block being written, if any.</summary>
    public Block? CurrentBlock => _block;

    /// <summary>True once <see cref="CloseAsync"/> succeeded.</summary>
    public bool IsClosed => _closed;

    /// <summary>Opens <paramref name="path"/> for <paramref name="holder"/> and registers it with <paramref name="renewer"/>.</summary>
    /// <exception cref="LeaseConflictException">Another writer holds the path.</exception>
    public static async Task<LeaseWriter> OpenAsync(LeaseClient client, LeaseRenewer renewer, string holder, string path, LeaseWriterOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(renewer);
        options ??= new LeaseWriterOptions();

        // A second writer for a path this process already writes would look like a retry to the
        // server (same holder), and giving it back on failure would close the first writer's file.
        if (renewer.IsRegistered(holder, path))
        {
            throw new InvalidOperationException($"'{holder}' already has a writer open on '{path}' in this process; close or abort it first.");
        }

        // The grant counts from before the request was sent, never from the reply.
        var sent = renewer.GetTimestamp();
        var lease = await client.AddLeaseAsync(holder, path, options.ClientMachine, cancellationToken).ConfigureAwait(false);
        LeaseRegistration registration;
        try
        {
            registration = renewer.Register(lease, sent, options.RpcTimeout);
        }
        catch (DuplicateRegistrationException)
        {
            // Another open of the same path in this process won the race since the check above:
            // the path is that writer's now, so it is not given back.
            throw new InvalidOperationException($"'{holder}' already has a writer open on '{path}' in this process; close or abort it first.");
        }
        catch
        {
            // Nobody would renew it: give the path back rather than leave it to the limits.
            try
            {
                await client.RemoveLeaseAsync(holder, path, CancellationToken.None).ConfigureAwait(false);
            }
            catch (LeaseServiceException)
            {
            }

            throw;
        }

        return new LeaseWriter(client, renewer, registration, lease, options);
    }

    /// <summary>Allocates the next block (the previous one must be finalized on a DataNode).</summary>
    public async Task<Block> AddBlockAsync(CancellationToken cancellationToken = default)
    {
        EnsureWritable();
        AddBlockResponse response;
        try
        {
            response = await GuardAsync(ct => _client.AddBlockAsync(Holder, Path, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (LeaseServiceException ex) when (ex is LeaseConflictException or LeaseNotFoundException)
        {
            if (await StillOursAsync(cancellationToken).ConfigureAwait(false))
            {
                throw; // Still ours: e.g. the previous block waits for replicas. The caller may retry.
            }

            // Not the holder any more (taken over or recovered): the path is gone for this writer.
            _renewer.Unregister(Registration, LeaseAbortReason.Revoked);
            throw new LeaseLostException(Holder, Path, LeaseAbortReason.Revoked, ex);
        }

        Epoch = response.Epoch;
        _block = response.Block;
        _blockFinalized = false;
        _blockBytes = 0;
        _unconfirmed = null;
        return response.Block;
    }

    /// <summary>
    /// Appends <paramref name="data"/> to the current block through its DataNode pipeline (allocating
    /// a block first if there is none or the last one was finalized). With
    /// <paramref name="endBlock"/> the pipeline is closed and the replicas become FINALIZED.
    /// </summary>
    /// <remarks>
    /// <para>
    /// A write of data names the byte of the block it starts at: the bytes of this block whose
    /// writes were acknowledged (with an <see cref="IOffsetBlockWriter"/>, such as the default
    /// <see cref="SimulatorBlockWriter"/>). So a write that failed without a definite answer (UNAVAILABLE, a
    /// deadline, a connection reset after the DataNodes took the bytes) can be retried with the same
    /// bytes: when its earlier attempt landed, the retry is refused, the writer confirms that every
    /// replica of the pipeline ends where that attempt ended (an empty write there), and returns
    /// those replicas as the lost answer would have — the bytes are in the file once. A lease holder
    /// is the block's only writer (fencing sees to it), so the bytes there are the attempt's own.
    /// </para>
    /// <para>
    /// Writing other bytes instead of retrying is refused while the earlier attempt's bytes are in the
    /// block (<see cref="LeaseConflictException"/> naming the block's length and that attempt): retry
    /// it first, or close (the close finalizes what the replicas hold, that attempt included, as it
    /// always did). A retry of a write with <paramref name="endBlock"/> whose earlier attempt landed
    /// is confirmed the same way, with an empty close at that attempt's end (replicas FINALIZED at
    /// that length take it, as HDFS's recoverClose): the block counts as ended and the next write
    /// goes into a new block. When that confirmation is refused (not every replica holds the
    /// attempt, or the block writer does not take a repeated close), <see cref="CloseAsync"/> still
    /// closes the file. Other empty writes carry no offset: they add no bytes to repeat.
    /// </para>
    /// </remarks>
    /// <exception cref="LeaseLostException">The lease is in doubt or lost; nothing was sent, or the call was cancelled.</exception>
    /// <exception cref="LeaseFencedException">The server refused the write as stale; the path is aborted.</exception>
    /// <exception cref="LeaseConflictException">A replica cannot take the write, or the block does not end where this writer's acknowledged bytes end (see remarks).</exception>
    /// <exception cref="NotSupportedException">The server has no DataNode simulator.</exception>
    public async Task<IReadOnlyList<ReplicaInfo>> WriteAsync(ReadOnlyMemory<byte> data, bool endBlock = false, CancellationToken cancellationToken = default)
    {
        EnsureWritable();
        if (_block is null || _blockFinalized)
        {
            await AddBlockAsync(cancellationToken).ConfigureAwait(false);
        }

        var block = _block!;
        ulong? offset = _offsetBlocks is not null && !data.IsEmpty ? _blockBytes : null;
        IReadOnlyList<ReplicaInfo> replicas;
        try
        {
            replicas = await GuardAsync(
                ct => offset is { } at ? _offsetBlocks!.WriteAtAsync(block, Epoch, at, data, endBlock, ct) : _blocks.WriteAsync(block, Epoch, data, endBlock, ct),
                cancellationToken).ConfigureAwait(false);
        }
        catch (LeaseServiceException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            throw new NotSupportedException("The server has no DataNode simulator to write through.", ex);
        }
        catch (LeaseConflictException ex) when (offset is { } at && _unconfirmed is { } earlier)
        {
            if (!earlier.Repeats(at, data, endBlock))
            {
                // Other bytes than the attempt that may have landed: they would go at a byte this
                // writer does not know, so nothing was written; the attempt's retry comes first.
                throw Conflict(ex, $"{ex.Status.Detail} An earlier write of {earlier.Data.Length} bytes at byte {earlier.Offset} of block {block.BlockId} failed without an answer and may have landed: retry it with the same bytes, or close.");
            }

            replicas = await ConfirmLandedAsync(block, at + (ulong)data.Length, endBlock, ex, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (offset is { } at)
        {
            // The outcome is unknown (the DataNodes may have the bytes): a retry of these bytes can be confirmed.
            _unconfirmed = new UnconfirmedWrite(at, data.ToArray(), endBlock);
            throw;
        }

        _blockBytes += (ulong)data.Length;
        _unconfirmed = null;
        if (endBlock)
        {
            _blockFinalized = true;
        }

        return replicas;
    }

    /// <summary>
    /// A retry of <see cref="_unconfirmed"/> was refused: when every replica of the pipeline ends at
    /// <paramref name="end"/> (an empty write there succeeds; with <paramref name="endBlock"/> an
    /// empty close there, which replicas FINALIZED at that length take), the earlier attempt landed
    /// and its replicas are the answer; otherwise <paramref name="refusal"/>, explained.
    /// </summary>
    private async Task<IReadOnlyList<ReplicaInfo>> ConfirmLandedAsync(Block block, ulong end, bool endBlock, LeaseConflictException refusal, CancellationToken cancellationToken)
    {
        try
        {
            return await GuardAsync(ct => _offsetBlocks!.WriteAtAsync(block, Epoch, end, ReadOnlyMemory<byte>.Empty, endBlock, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (LeaseConflictException ex) when (endBlock)
        {
            throw Conflict(refusal, $"{refusal.Status.Detail} The earlier attempt of this write, which closed the block's pipeline, may have landed, but not every DataNode of the pipeline confirms it ({ex.Status.Detail}); CloseAsync closes the file all the same.");
        }
        catch (LeaseConflictException ex)
        {
            throw Conflict(refusal, $"{refusal.Status.Detail} Not every DataNode of the pipeline holds the earlier attempt of this write ({ex.Status.Detail}).");
        }
    }

    private static LeaseConflictException Conflict(LeaseConflictException refusal, string detail)
        => new(new Status(refusal.StatusCode, detail, refusal.Status.DebugException), refusal.Trailers);

    /// <summary>
    /// Finalizes the last block if needed, then closes the file (RemoveLease), retrying while the
    /// server answers closed=false or UNAVAILABLE; the lease stays renewed meanwhile. When a replica
    /// refuses to finalize (FAILED_PRECONDITION: e.g. an earlier close finalized it and its answer
    /// was lost), the server is asked once whether the block is complete anyway.
    /// </summary>
    /// <exception cref="InvalidOperationException">The writer was aborted (<see cref="Abort"/>): the server recovers the file.</exception>
    /// <exception cref="TimeoutException">Still not closed after <see cref="LeaseWriterOptions.MaxCloseAttempts"/>; the path stays open: retry or dispose.</exception>
    /// <exception cref="LeaseConflictException">The last block's replicas could not be finalized and too few are FINALIZED; the path stays open.</exception>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_closed)
        {
            return;
        }

        if (_aborted)
        {
            // As HDFS's close after abort, this does not complete the file: the server recovers it.
            throw new InvalidOperationException($"'{Path}' was aborted: the server recovers it after its limits (RecoverLease sooner); open it again to write.");
        }

        if (_renewer.IsSuperseded(Registration))
        {
            // This writer was aborted and the path opened again: closing here would close the newer writer's file.
            throw new InvalidOperationException($"'{Path}' was opened again in this process after this writer was aborted; close the newer writer.");
        }

        LeaseConflictException? pipelineRefused = null;
        if (_block is not null && !_blockFinalized)
        {
            try
            {
                await WriteAsync(ReadOnlyMemory<byte>.Empty, endBlock: true, cancellationToken).ConfigureAwait(false);
            }
            catch (LeaseConflictException ex)
            {
                // A replica cannot close its pipeline, e.g. it is FINALIZED already: an earlier close
                // finalized it and its answer was lost, or broke past the DataNodes it finalized.
                // The server decides whether the block is complete all the same (one attempt: a
                // refusal now will not turn into a FINALIZED replica by waiting).
                pipelineRefused = ex;
            }
        }

        _renewer.MarkClosing(Registration);
        try
        {
            var attempts = pipelineRefused is null ? _options.MaxCloseAttempts : 1;
            if (!await RemoveLeaseRetryingAsync(attempts, cancellationToken).ConfigureAwait(false))
            {
                if (pipelineRefused is not null)
                {
                    ExceptionDispatchInfo.Throw(pipelineRefused);
                }

                throw new TimeoutException($"'{Path}' is still not closed after {attempts} attempts (the last block waits for replicas); the lease stays renewed.");
            }
        }
        catch
        {
            // Still open: renewals must again notice a lost lease for this path.
            _renewer.MarkClosing(Registration, closing: false);
            throw;
        }

        _closed = true;
        _renewer.Unregister(Registration, LeaseAbortReason.Unregistered, closed: true);
    }

    /// <summary>RemoveLease until closed (true), or false when the server still answers closed=false at the last of <paramref name="attempts"/>.</summary>
    private async Task<bool> RemoveLeaseRetryingAsync(int attempts, CancellationToken cancellationToken)
    {
        var delay = _options.CloseRetryInitialDelay;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await _client.RemoveLeaseAsync(Holder, Path, cancellationToken).ConfigureAwait(false))
                {
                    return true;
                }
            }
            catch (LeaseUnavailableException ex)
            {
                // Transient: the server is busy, or the last block changed while closing. Retry.
                if (attempt >= attempts)
                {
                    throw new TimeoutException($"'{Path}' is still not closed after {attempt} attempts; the lease stays renewed.", ex);
                }
            }
            catch (LeaseServiceException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(ex.Message, ex, cancellationToken);
            }
            catch (LeaseServiceException ex) when (ex is LeaseNotFoundException or LeaseConflictException)
            {
                if (ex is LeaseNotFoundException && await ClosedByUsAsync(cancellationToken).ConfigureAwait(false))
                {
                    return true; // An earlier attempt closed it and its answer was lost.
                }

                // The path is no longer ours: recovered or taken over while we were not looking.
                _renewer.Unregister(Registration, LeaseAbortReason.HolderNotFound);
                throw new LeaseLostException(Holder, Path, LeaseAbortReason.HolderNotFound, ex);
            }

            if (attempt >= attempts)
            {
                return false;
            }

            await Task.Delay(delay, _renewer.TimeProvider, cancellationToken).ConfigureAwait(false);
            delay = delay * 2 > _options.CloseRetryMaxDelay ? _options.CloseRetryMaxDelay : delay * 2;
        }
    }

    /// <summary>
    /// True when the file is closed at this writer's epoch: a lease recovery or a new grant would
    /// have moved the epoch, so only this writer's own close leaves it there.
    /// </summary>
    private async Task<bool> ClosedByUsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var file = await _client.GetFileAsync(Path, cancellationToken).ConfigureAwait(false);
            return !file.UnderConstruction && file.Epoch == Epoch;
        }
        catch (LeaseServiceException)
        {
            return false;
        }
    }

    /// <summary>
    /// Stops writing without closing: the path is unregistered, so the server recovers the file
    /// after its limits once nothing renews the holder (as HDFS's abort: while the holder has other
    /// paths open, their renewals renew this one too). Idempotent. A later <see cref="CloseAsync"/>
    /// throws instead of completing the file.
    /// </summary>
    public void Abort()
    {
        if (!_closed)
        {
            _aborted = true;
            _renewer.Unregister(Registration, LeaseAbortReason.Unregistered);
        }
    }

    /// <summary>Aborts the writer unless it was closed.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            Abort();
        }

        return ValueTask.CompletedTask;
    }

    private void EnsureWritable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_closed)
        {
            throw new InvalidOperationException($"'{Path}' is closed.");
        }

        Registration.ThrowIfNotHeld();
    }

    /// <summary>
    /// After a refusal that may or may not mean the lease is gone (FAILED_PRECONDITION is also
    /// "finish the previous block first"): true when the server still lists this writer as the
    /// holder and no recovery runs.
    /// </summary>
    private async Task<bool> StillOursAsync(CancellationToken cancellationToken)
    {
        try
        {
            var lease = await _client.GetLeaseAsync(Path, cancellationToken).ConfigureAwait(false);
            return lease.Holder == Holder && lease.State != LeaseState.Recovering;
        }
        catch (LeaseServiceException ex) when (ex is LeaseNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A write of data whose outcome is unknown, at byte <paramref name="Offset"/> of the current block.</summary>
    private sealed record UnconfirmedWrite(ulong Offset, byte[] Data, bool EndBlock)
    {
        public bool Repeats(ulong offset, ReadOnlyMemory<byte> data, bool endBlock)
            => offset == Offset && endBlock == EndBlock && data.Span.SequenceEqual(Data);
    }

    /// <summary>Runs a call that the lease token or the caller may cancel, and tells the two apart.</summary>
    private async Task<T> GuardAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Registration.Token);
        try
        {
            return await call(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException || (ex is LeaseServiceException { StatusCode: StatusCode.Cancelled }))
        {
            // The lease first: an application that passes the lease token as its own (or links it)
            // must still learn that the lease was lost, not that it cancelled.
            if (Registration.Token.IsCancellationRequested)
            {
                throw new LeaseLostException(Holder, Path, Registration.AbortReason, ex);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The caller cancelled.", ex, cancellationToken);
            }

            throw;
        }
        catch (LeaseFencedException)
        {
            // A newer epoch or generation stamp exists: someone else owns the file now.
            _renewer.Unregister(Registration, LeaseAbortReason.Fenced);
            throw;
        }
    }
}
