using LeaseService.DataNodes;
using LeaseService.Server.Storage;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Options;

/// <summary>Validates section <c>DataNodes</c> (the embedded simulated cluster) at start-up, naming keys.</summary>
internal sealed class DataNodeOptionsValidator : IValidateOptions<SimulatedDataNodeClusterOptions>
{
    public const string Section = "DataNodes";

    /// <summary>The DataNodes' directory under a durable store's, unless configured.</summary>
    public const string DefaultSubdirectory = "datanodes";

    /// <summary>
    /// <c>DataNodes:DataDirectory</c>: unset → <c>datanodes</c> under <c>Storage:Path</c> with a
    /// durable provider (the DataNodes keep their replicas as the store keeps the namespace), in
    /// memory with <c>InMemory</c>; empty → in memory; relative → under the working directory.
    /// </summary>
    public static void ResolveDataDirectory(SimulatedDataNodeClusterOptions options, IOptions<StorageOptions> storage)
    {
        if (options.DataDirectory is null)
        {
            var store = storage.Value;
            options.DataDirectory = StorageOptions.TryParseProvider(store.Provider, out var provider) && provider == StorageProvider.RocksDb
                ? Path.Combine(store.FullPath, DefaultSubdirectory)
                : null;
        }
        else if (options.DataDirectory.Length == 0)
        {
            options.DataDirectory = null;
        }
        else
        {
            options.DataDirectory = Path.GetFullPath(options.DataDirectory, Directory.GetCurrentDirectory());
        }
    }

    public ValidateOptionsResult Validate(string? name, SimulatedDataNodeClusterOptions options)
    {
        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            var message = ex.Message;
            foreach (var key in new[] { nameof(options.DataNodeCount), nameof(options.CallTimeout), nameof(options.RecoveryTimeout), nameof(options.BlockSize) })
            {
                message = message.Replace(key, $"{Section}:{key}", StringComparison.Ordinal);
            }

            return ValidateOptionsResult.Fail(message);
        }
    }
}
