using Grpc.Core;
using LeaseService.Core;
using LeaseService.Core.Storage;
using LeaseService.Storage.Etcd;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Cluster;

/// <summary>
/// A replica of a cluster on etcd: a thin shell around <see cref="EtcdElection"/>. When elected it
/// loads the whole state from etcd (<see cref="LeaseManager.ActivateAsync"/>, every lease renewed
/// at serving start plus one session TTL) and serves; when deposed it stops serving and drops the
/// state (<see cref="LeaseManager.Deactivate"/>). It is active only while the election can prove
/// it holds the key, read on every call.
/// </summary>
internal sealed partial class EtcdReplica(
    EtcdElection election,
    LeaseManager manager,
    IOptions<ClusterOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<EtcdReplica> logger) : BackgroundService, IReplicaRole
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    private long _activations;

    public bool IsActive => election.IsLeader;

    public string? LeaderUrl => election.LeaderUrl;

    public string Describe() => IsActive ? "active" : "standby";

    public long Activations => Interlocked.Read(ref _activations);

    public event Action? Changed;

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => election.RunAsync(OnElectedAsync, OnDeposed, stoppingToken);

    private async Task OnElectedAsync(CancellationToken term)
    {
        Interlocked.Increment(ref _activations);
        Changed?.Invoke();
        while (true)
        {
            try
            {
                if (await manager.ActivateAsync(options.Value.SessionTtl, term).ConfigureAwait(false))
                {
                    LogServing(manager.Store.Description);
                    return;
                }

                LogActivationFailed(manager.StorageFailure ?? "the probe write failed");
            }
            catch (LeaseStoreException ex) when (ex.InnerException is RpcException)
            {
                LogActivationFailed(ex.Message); // etcd did not answer: retry while the term lasts.
            }
            catch (LeaseStoreException ex)
            {
                // Never serve over data it cannot read: corrupt, or a newer format version.
                LogStoreRefused(ex.Message);
                Environment.ExitCode = Hosting.StartupFailure.ExitCode;
                lifetime.StopApplication();
                return;
            }

            await Task.Delay(RetryDelay, term).ConfigureAwait(false);
        }
    }

    private void OnDeposed(string reason)
    {
        manager.Deactivate($"not the active replica: {reason}");
        Changed?.Invoke();
    }

    [LoggerMessage(7101, LogLevel.Warning, "Active replica: state loaded from {Store}; serving")]
    private partial void LogServing(string store);

    [LoggerMessage(7102, LogLevel.Warning, "Elected, but the state could not be loaded: {Reason}; retrying")]
    private partial void LogActivationFailed(string reason);

    [LoggerMessage(7103, LogLevel.Critical, "Cannot use the lease store: {Reason}; stopping")]
    private partial void LogStoreRefused(string reason);
}
