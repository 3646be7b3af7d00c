using LeaseService.Core;
using LeaseService.DataNodes;
using LeaseService.Server.Storage;
using LeaseService.Storage.Etcd;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Options;

/// <summary>Checks <see cref="LeaseOptions"/> across fields at start-up; each failure names its key.</summary>
internal sealed class LeaseOptionsValidator(IOptions<SimulatedDataNodeClusterOptions> dataNodes, IOptions<StorageOptions> storage) : IValidateOptions<LeaseOptions>
{
    public ValidateOptionsResult Validate(string? name, LeaseOptions options)
    {
        var failures = new List<string>();
        const string S = LeaseOptions.Section;
        if (options.SoftLimit <= TimeSpan.Zero)
        {
            failures.Add($"{S}:SoftLimit must be greater than zero (was {options.SoftLimit}).");
        }

        if (options.HardLimit < options.SoftLimit)
        {
            failures.Add($"{S}:HardLimit ({options.HardLimit}) must be at least {S}:SoftLimit ({options.SoftLimit}).");
        }
        else if (options.HardLimit > LeaseOptions.HardLimitUpperBound)
        {
            failures.Add($"{S}:HardLimit must be at most {LeaseOptions.HardLimitUpperBound} (was {options.HardLimit}).");
        }

        if (options.MonitorInterval <= TimeSpan.Zero || options.MonitorInterval > LeaseOptions.MonitorIntervalUpperBound)
        {
            failures.Add($"{S}:MonitorInterval must be greater than zero and at most {LeaseOptions.MonitorIntervalUpperBound} (was {options.MonitorInterval}).");
        }

        if (options.MaxMonitorWorkPerPass <= TimeSpan.Zero || options.MaxMonitorWorkPerPass > LeaseOptions.MaxMonitorWorkPerPassUpperBound)
        {
            failures.Add($"{S}:MaxMonitorWorkPerPass must be greater than zero and at most {LeaseOptions.MaxMonitorWorkPerPassUpperBound} (was {options.MaxMonitorWorkPerPass}).");
        }

        if (options.MonitorBatchSize is < 1 or > 100_000)
        {
            failures.Add($"{S}:MonitorBatchSize must be between 1 and 100000 (was {options.MonitorBatchSize}).");
        }

        if (options.RecoveryTimeout <= TimeSpan.Zero || options.RecoveryTimeout > LeaseOptions.RecoveryTimeoutUpperBound)
        {
            failures.Add($"{S}:RecoveryTimeout must be greater than zero and at most {LeaseOptions.RecoveryTimeoutUpperBound} (was {options.RecoveryTimeout}).");
        }

        if (options.RecoveryTimeout < dataNodes.Value.RecoveryTimeout)
        {
            failures.Add(
                $"{S}:RecoveryTimeout ({options.RecoveryTimeout}) must be at least {DataNodeOptionsValidator.Section}:RecoveryTimeout ({dataNodes.Value.RecoveryTimeout}); "
                + "otherwise a new attempt supersedes a primary that is still working.");
        }

        if (options.DeadReplicaGraceAttempts is < 1 or > 100)
        {
            failures.Add($"{S}:DeadReplicaGraceAttempts must be between 1 and 100 (was {options.DeadReplicaGraceAttempts}).");
        }

        if (options.ReplicationFactor is < 1 or > 16)
        {
            failures.Add($"{S}:ReplicationFactor must be between 1 and 16 (was {options.ReplicationFactor}).");
        }

        if (options.MinReplication < 1 || options.MinReplication > options.ReplicationFactor)
        {
            failures.Add($"{S}:MinReplication must be between 1 and {S}:ReplicationFactor (was {options.MinReplication}).");
        }

        if (options.MaxBlocksPerFile is < 1 or > 1_000_000)
        {
            failures.Add($"{S}:MaxBlocksPerFile must be between 1 and 1000000 (was {options.MaxBlocksPerFile}).");
        }
        else if (StorageOptions.TryParseProvider(storage.Value.Provider, out var provider) && provider == StorageProvider.Etcd
            && options.ReplicationFactor is >= 1 and <= 16)
        {
            // A file's record is written whole in one etcd request; one that cannot fit (64 KiB
            // left for the rest of the record and the request) would fail every batch it is in.
            var longestId = SimulatedDataNodeCluster.DataNodeId(Math.Max(1, dataNodes.Value.DataNodeCount)).Length;
            var perBlock = LeaseManagerOptions.RecordBytesPerBlock(options.ReplicationFactor, longestId);
            var most = (EtcdLeaseStore.MaxRequestBytes - 64 * 1024) / perBlock;
            if (options.MaxBlocksPerFile > most)
            {
                failures.Add(
                    $"{S}:MaxBlocksPerFile ({options.MaxBlocksPerFile}) must be at most {most} with {StorageOptions.Section}:Provider=Etcd and {S}:ReplicationFactor={options.ReplicationFactor}: "
                    + $"a file's record ({perBlock} bytes a block) must fit in one etcd request.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
