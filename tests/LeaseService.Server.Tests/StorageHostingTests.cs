using LeaseService.Client;
using LeaseService.Core;
using LeaseService.Core.Storage;
using Grpc.Core;
using LeaseService.Server;
using LeaseService.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Server.Tests;

/// <summary>Storage in the host: options, failures on the wire, health.</summary>
public sealed class StorageHostingTests
{
    [Theory]
    [InlineData("--Storage:Provider=Cassandra", "Storage:Provider")]
    [InlineData("--Storage:Provider=1", "Storage:Provider")]
    [InlineData("--Storage:Path= ", "Storage:Path")]
    public async Task InvalidStorageOption_StopsStartUpNamingTheKey(string setting, string key)
    {
        var act = async () =>
        {
            await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", setting]);
            await app.StartAsync();
            await app.StopAsync();
        };

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(key);
    }

    // One parse of the provider for the validator, the role wiring and the store: a list (read as
    // flags, "RocksDb,InMemory" was InMemory: no durability) or a name with spaces around it (the
    // validator trimmed it, the role wiring did not: no etcd client, a crash) is no provider.
    [Theory]
    [InlineData("RocksDb,InMemory")]
    [InlineData("InMemory, RocksDb")]
    [InlineData(" Etcd ")]
    [InlineData("Etcd ")]
    public async Task StorageProvider_NotExactlyOneName_StopsStartUpNamingTheKey(string provider)
    {
        var act = async () =>
        {
            await using var app = LeaseServer.Build(
                ["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", $"--Storage:Provider={provider}", "--Storage:Etcd:Endpoints=http://127.0.0.1:2379"]);
            await app.StartAsync();
            await app.StopAsync();
        };

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain($"Storage:Provider must be RocksDb, InMemory or Etcd (was '{provider}')");
    }

    [Theory]
    [InlineData("--Storage:Etcd:Endpoints=", "--Cluster:SessionTtl=00:00:05", "Storage:Etcd:Endpoints")]
    [InlineData("--Storage:Etcd:Endpoints=localhost:2379", "--Cluster:SessionTtl=00:00:05", "Storage:Etcd:Endpoints")]
    [InlineData("--Storage:Etcd:Endpoints=http://127.0.0.1:2379", "--Storage:Etcd:Prefix=", "Storage:Etcd:Prefix")]
    [InlineData("--Storage:Etcd:Endpoints=http://127.0.0.1:2379", "--Cluster:SessionTtl=00:00:01", "Cluster:SessionTtl")]
    [InlineData("--Storage:Etcd:Endpoints=http://127.0.0.1:2379", "--Cluster:SessionTtl=00:00:02.500", "Cluster:SessionTtl")]
    [InlineData("--Storage:Etcd:Endpoints=http://127.0.0.1:2379", "--Cluster:AdvertiseUrl=lease-1:5050", "Cluster:AdvertiseUrl")]
    [InlineData("--Storage:Etcd:Endpoints=http://127.0.0.1:2379", "--Leases:MaxBlocksPerFile=100000", "Leases:MaxBlocksPerFile (100000) must be at most 28987 with Storage:Provider=Etcd")]
    public async Task InvalidEtcdOption_StopsStartUpNamingTheKey(string first, string second, string key)
    {
        var act = async () =>
        {
            await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", "--Storage:Provider=Etcd", first, second]);
            await app.StartAsync();
            await app.StopAsync();
        };

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(key);
    }

    [Fact]
    public async Task StoreFailure_AnswersUnavailableAndHealthIsNotServingUntilAWriteSucceeds()
    {
        var store = new FlakyStore();
        await using var app = LeaseServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", "--Storage:Provider=InMemory"], // The store below replaces it; nothing touches a data directory.
            builder => builder.Services.AddSingleton<ILeaseStore>(store));
        await app.StartAsync().DefaultTimeout();
        using var client = LeaseClient.Create(app.ListeningAddresses()[0]);
        var manager = app.Services.GetRequiredService<LeaseManager>();
        (await client.CheckHealthAsync("leases.v1.LeaseService").DefaultTimeout()).Should().Be(ServingStatus.Serving);
        await client.AddLeaseAsync("w", "/kept").DefaultTimeout();

        store.FailWith = "No space left on device";
        var failed = await FluentActions.Awaiting(() => client.AddLeaseAsync("w", "/lost")).Should().ThrowAsync<LeaseServiceException>();

        failed.Which.StatusCode.Should().Be(StatusCode.Unavailable);
        failed.Which.Message.Should().Contain("storage unavailable: No space left on device");
        (await client.CheckHealthAsync("leases.v1.LeaseService").DefaultTimeout()).Should().Be(ServingStatus.NotServing);

        store.FailWith = null;
        (await manager.TryRestoreStorageAsync().DefaultTimeout()).Should().BeTrue();
        (await client.CheckHealthAsync("leases.v1.LeaseService").DefaultTimeout()).Should().Be(ServingStatus.Serving);
        (await client.GetLeaseAsync("/kept").DefaultTimeout()).Holder.Should().Be("w");
        await FluentActions.Awaiting(() => client.GetLeaseAsync("/lost")).Should().ThrowAsync<LeaseNotFoundException>("the failed grant never became durable");
        await app.StopAsync().DefaultTimeout();
    }

    [Theory]
    [InlineData("RocksDb", null, "/srv/lease/datanodes")]
    [InlineData("rocksdb", "/elsewhere", "/elsewhere")]
    [InlineData("RocksDb", "", null)]
    [InlineData("InMemory", null, null)]
    [InlineData("InMemory", "/elsewhere", "/elsewhere")]
    public void DataNodesDirectory_DefaultsUnderADurableStore(string provider, string? configured, string? expected)
    {
        var options = new LeaseService.DataNodes.SimulatedDataNodeClusterOptions { DataDirectory = configured };

        Options.DataNodeOptionsValidator.ResolveDataDirectory(options, Microsoft.Extensions.Options.Options.Create(new Storage.StorageOptions { Provider = provider, Path = "/srv/lease" }));

        options.DataDirectory.Should().Be(expected);
    }

    [Fact]
    public async Task UnusableDataNodesDirectory_StopsStartUpNamingTheKey()
    {
        var file = Path.GetTempFileName(); // A file where the directory should be: even root cannot create under it.
        try
        {
            var act = async () =>
            {
                await using var app = LeaseServer.Build(["--urls", "http://127.0.0.1:0", "--Serilog:MinimumLevel:Default=Fatal", "--Metrics:Url=", "--Storage:Provider=InMemory", $"--DataNodes:DataDirectory={file}"]);
                await app.StartAsync();
                await app.StopAsync();
            };

            var thrown = await act.Should().ThrowAsync<Exception>();
            Hosting.StartupFailure.Describe(thrown.Which).Should().Contain("DataNodes:DataDirectory").And.Contain(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>An in-memory store whose writes fail while <see cref="FailWith"/> is set.</summary>
    private sealed class FlakyStore : ILeaseStore
    {
        private readonly InMemoryLeaseStore _inner = new();

        public string? FailWith { get; set; }

        public string Description => "flaky test store";

        public IAsyncEnumerable<StoreEntry> ReadAllAsync(CancellationToken cancellationToken = default) => _inner.ReadAllAsync(cancellationToken);

        public ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default) => _inner.ReadAsync(key, cancellationToken);

        public ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
            => FailWith is { } reason ? throw new IOException(reason) : _inner.WriteAsync(batch, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
