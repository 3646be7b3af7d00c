using LeaseService.DataNodes;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Options;

/// <summary>Validates section <c>DataNodes</c> (the embedded simulated cluster) at start-up, naming keys.</summary>
internal sealed class DataNodeOptionsValidator : IValidateOptions<SimulatedDataNodeClusterOptions>
{
    public const string Section = "DataNodes";

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
            foreach (var key in new[] { nameof(options.DataNodeCount), nameof(options.CallTimeout), nameof(options.RecoveryTimeout) })
            {
                message = message.Replace(key, $"{Section}:{key}", StringComparison.Ordinal);
            }

            return ValidateOptionsResult.Fail(message);
        }
    }
}
