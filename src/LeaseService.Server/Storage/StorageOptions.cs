namespace LeaseService.Server.Storage;

/// <summary>The storage engines the server can run on.</summary>
internal enum StorageProvider
{
    /// <summary>Embedded RocksDB in <see cref="StorageOptions.Path"/>: durable (the default).</summary>
    RocksDb,

    /// <summary>In memory: nothing survives a restart (benchmarks, tests).</summary>
    InMemory,

    /// <summary>
    /// An etcd cluster (<see cref="StorageOptions.Etcd"/>) shared by several replicas, one of
    /// them active (high availability; section <c>Cluster</c>).
    /// </summary>
    Etcd,
}

/// <summary>Configuration section <c>Storage</c>.</summary>
internal sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>RocksDb</c> (default), <c>InMemory</c> or <c>Etcd</c>, in any case (<see cref="TryParseProvider"/>).</summary>
    public string Provider { get; set; } = nameof(StorageProvider.RocksDb);

    /// <summary>The data directory; relative paths are under the working directory. Default <c>data</c>.</summary>
    public string Path { get; set; } = "data";

    /// <summary>Section <c>Storage:Etcd</c>, used when the provider is <c>Etcd</c>.</summary>
    public EtcdStorageOptions Etcd { get; set; } = new();

    /// <summary>The provider, once validated.</summary>
    public StorageProvider ParsedProvider => TryParseProvider(Provider, out var provider)
        ? provider
        : throw new ArgumentException($"{Section}:Provider must be RocksDb, InMemory or Etcd (was '{Provider}').", nameof(Provider));

    /// <summary>
    /// The one parse of <c>Storage:Provider</c>, used by the validator, the role wiring and the
    /// store factory alike: exactly one provider's name, in any case. Nothing else is a provider:
    /// not a list (<c>RocksDb,InMemory</c>, which <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/>
    /// reads as flags), a number, or a name with spaces around it.
    /// </summary>
    public static bool TryParseProvider(string? value, out StorageProvider provider)
    {
        foreach (var candidate in Enum.GetValues<StorageProvider>())
        {
            if (string.Equals(value, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                provider = candidate;
                return true;
            }
        }

        provider = default;
        return false;
    }

    /// <summary>The absolute data directory.</summary>
    public string FullPath => System.IO.Path.GetFullPath(Path, Directory.GetCurrentDirectory());
}

/// <summary>Configuration section <c>Storage:Etcd</c>.</summary>
internal sealed class EtcdStorageOptions
{
    /// <summary>The etcd members' client URLs, comma-separated (<c>http://host:2379,...</c>). Required with the Etcd provider.</summary>
    public string Endpoints { get; set; } = string.Empty;

    /// <summary>Every key of this LeaseService cluster starts with it, so clusters can share an etcd. Default <c>/leaseservice/</c>.</summary>
    public string Prefix { get; set; } = LeaseService.Storage.Etcd.EtcdKeys.DefaultPrefix;

    /// <summary>The endpoints, split and trimmed.</summary>
    public IReadOnlyList<string> EndpointList => Endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
