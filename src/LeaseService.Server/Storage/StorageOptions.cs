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

    /// <summary><c>RocksDb</c> (default), <c>InMemory</c> or <c>Etcd</c>.</summary>
    public string Provider { get; set; } = nameof(StorageProvider.RocksDb);

    /// <summary>The data directory; relative paths are under the working directory. Default <c>data</c>.</summary>
    public string Path { get; set; } = "data";

    /// <summary>Section <c>Storage:Etcd</c>, used when the provider is <c>Etcd</c>.</summary>
    public EtcdStorageOptions Etcd { get; set; } = new();

    /// <summary>The provider, once validated.</summary>
    public StorageProvider ParsedProvider => Enum.Parse<StorageProvider>(Provider, ignoreCase: true);

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
