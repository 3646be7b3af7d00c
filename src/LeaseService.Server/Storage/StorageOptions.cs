namespace LeaseService.Server.Storage;

/// <summary>The storage engines the server can run on.</summary>
internal enum StorageProvider
{
    /// <summary>Embedded RocksDB in <see cref="StorageOptions.Path"/>: durable (the default).</summary>
    RocksDb,

    /// <summary>In memory: nothing survives a restart (benchmarks, tests).</summary>
    InMemory,
}

/// <summary>Configuration section <c>Storage</c>.</summary>
internal sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>RocksDb</c> (default) or <c>InMemory</c>.</summary>
    public string Provider { get; set; } = nameof(StorageProvider.RocksDb);

    /// <summary>The data directory; relative paths are under the working directory. Default <c>data</c>.</summary>
    public string Path { get; set; } = "data";

    /// <summary>The provider, once validated.</summary>
    public StorageProvider ParsedProvider => Enum.Parse<StorageProvider>(Provider, ignoreCase: true);

    /// <summary>The absolute data directory.</summary>
    public string FullPath => System.IO.Path.GetFullPath(Path, Directory.GetCurrentDirectory());
}
