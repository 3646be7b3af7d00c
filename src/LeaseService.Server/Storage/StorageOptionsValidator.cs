using Microsoft.Extensions.Options;

namespace LeaseService.Server.Storage;

/// <summary>Checks <see cref="StorageOptions"/> at start-up; each failure names its key.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        const string S = StorageOptions.Section;
        if (!Enum.TryParse<StorageProvider>(options.Provider, ignoreCase: true, out _) || int.TryParse(options.Provider, out _))
        {
            failures.Add($"{S}:Provider must be RocksDb or InMemory (was '{options.Provider}').");
        }

        if (string.IsNullOrWhiteSpace(options.Path))
        {
            failures.Add($"{S}:Path must not be empty.");
        }
        else if (options.Path.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add($"{S}:Path must not contain NUL.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
