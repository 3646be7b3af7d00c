using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Nodes;

namespace LeaseService.DataNodes.Internal.Transport;

/// <summary>
/// The one boundary every call to a simulated DataNode crosses, whoever makes it (the
/// coordinator, a primary reaching its peers, a client write). It behaves like a network hop:
/// an unknown or stopped DataNode fails fast, the DataNode runs the call on its own thread, and
/// the caller waits at most the call's timeout, measured on the injected TimeProvider.
/// </summary>
internal sealed class SimulatedDataNodeChannel(
    IReadOnlyDictionary<string, SimulatedDataNode> nodes,
    TimeProvider timeProvider,
    TimeSpan callTimeout) : IInterDataNodeChannel
{
    public TimeSpan CallTimeout { get; } = callTimeout;

    public Task<InitReplicaRecoveryReply> InitReplicaRecoveryAsync(
        string dataNodeId, long blockId, long blockGenerationStamp, long recoveryId, CancellationToken cancellationToken) =>
        CallAsync(
            dataNodeId,
            CallTimeout,
            (node, _) => Task.FromResult(node.InitReplicaRecovery(blockId, blockGenerationStamp, recoveryId)),
            cancellationToken);

    public Task<UpdateReplicaReply> UpdateReplicaUnderRecoveryAsync(
        string dataNodeId, long blockId, long recoveryId, long newLength, CancellationToken cancellationToken) =>
        CallAsync(
            dataNodeId,
            CallTimeout,
            (node, _) => Task.FromResult(node.UpdateReplicaUnderRecovery(blockId, recoveryId, newLength)),
            cancellationToken);

    public Task<SimulatedReplica?> GetReplicaAsync(string dataNodeId, long blockId, CancellationToken cancellationToken) =>
        CallAsync(dataNodeId, CallTimeout, (node, _) => Task.FromResult(node.GetReplica(blockId)), cancellationToken);

    public Task<WriteReplicaReply?> BeginWriteAsync(
        string dataNodeId, long blockId, long generationStamp, bool recoverClose, WriteStream? stream, CancellationToken cancellationToken) =>
        CallAsync(dataNodeId, CallTimeout, (node, _) => Task.FromResult(node.BeginWrite(blockId, generationStamp, recoverClose, stream)), cancellationToken);

    public Task<WriteReplicaReply> WriteAsync(
        string dataNodeId, long blockId, long generationStamp, ReadOnlyMemory<byte> data, bool finalize, long offset, bool recoverClose, WriteStream stream, CancellationToken cancellationToken) =>
        CallAsync(
            dataNodeId,
            CallTimeout,
            (node, _) => Task.FromResult(node.Write(blockId, generationStamp, data.Span, finalize, offset, recoverClose, stream)),
            cancellationToken,
            dataWrite: true);

    /// <summary>Hands a recovery command to its primary, which runs <paramref name="recover"/> on its side.</summary>
    public Task<BlockRecoveryResult> RecoverBlockAsync(
        string primaryId,
        TimeSpan timeout,
        Func<SimulatedDataNode, CancellationToken, Task<BlockRecoveryResult>> recover,
        CancellationToken cancellationToken) =>
        CallAsync(primaryId, timeout, recover, cancellationToken);

    private async Task<T> CallAsync<T>(
        string dataNodeId,
        TimeSpan timeout,
        Func<SimulatedDataNode, CancellationToken, Task<T>> call,
        CancellationToken cancellationToken,
        bool dataWrite = false)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!nodes.TryGetValue(dataNodeId, out var node))
        {
            throw new DataNodeUnreachableException(dataNodeId, $"{dataNodeId} is not a known DataNode.");
        }

        if (!node.IsRunning)
        {
            // Like a refused connection: no waiting for a DataNode that is down.
            throw new DataNodeUnreachableException(dataNodeId, $"{dataNodeId} is not running.");
        }

        // The timeout is armed before the DataNode sees the call, so a test that waits for the
        // call to arrive at a hung DataNode knows the timer is already running.
        var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        var callSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var callToken = callSource.Token;
        var work = Task.Run(
            async () =>
            {
                await node.WaitIfHungAsync(dataWrite, callToken).ConfigureAwait(false);
                return await call(node, callToken).ConfigureAwait(false);
            },
            callToken);
        try
        {
            return await work.WaitAsync(callToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new DataNodeTimeoutException(dataNodeId, timeout);
        }
        finally
        {
            timeoutSource.Dispose();
            if (work.IsCompleted)
            {
                callSource.Dispose();
            }
            else
            {
                // The DataNode is still busy with a call nobody waits for; it observes the
                // cancelled token and stops, then its token source is released.
                _ = work.ContinueWith(
                    static (_, state) => ((IDisposable)state!).Dispose(),
                    callSource,
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }
}
