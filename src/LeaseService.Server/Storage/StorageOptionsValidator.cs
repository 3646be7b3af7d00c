using Microsoft.Extensions.Options;

namespace LeaseService.Server.Storage;

/// <summary>Checks <see cref="StorageOptions"/> at start-up; each failure names its key.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var failures = new List<string>();
        const string S = StorageOptions.Section;
        if (!StorageOptions.TryParseProvider(options.Provider, out var provider))
        {
            failures.Add($"{S}:Provider must be RocksDb, InMemory or Etcd (was '{options.Provider}').");
        }
        else if (provider == StorageProvider.Etcd)
        {
            ValidateEtcd(options.Etcd, failures);
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

    private static void ValidateEtcd(EtcdStorageOptions etcd, List<string> failures)
    {
        const string E = StorageOptions.Section + ":Etcd";
        if (etcd.EndpointList.Count == 0)
        {
            failures.Add($"{E}:Endpoints is required with {StorageOptions.Section}:Provider=Etcd: the etcd members' client URLs, comma-separated (http://host:2379,...).");
        }

        foreach (var endpoint in etcd.EndpointList)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
            {
                failures.Add($"{E}:Endpoints: '{endpoint}' is not an http:// or https:// URL of an etcd member (host and port, no path).");
            }
        }

        if (string.IsNullOrEmpty(etcd.Prefix) || etcd.Prefix.Contains('\0', StringComparison.Ordinal))
        {
            failures.Add($"{E}:Prefix must not be empty or contain NUL (default {LeaseService.Storage.Etcd.EtcdKeys.DefaultPrefix}).");
        }
    }
}
