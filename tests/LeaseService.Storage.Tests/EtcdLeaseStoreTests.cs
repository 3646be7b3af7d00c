using System.Text;
using dotnet_etcd;
using Google.Protobuf;
using LeaseService.Core.Storage;
using LeaseService.Storage.Etcd;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Storage.Tests;

/// <summary>One single-member etcd for the etcd store tests; each test uses a prefix of its own.</summary>
public sealed class EtcdFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public string Endpoints => _cluster!.Endpoints;

    public async Task InitializeAsync()
    {
        // The contract's concurrency test blocks pool threads on each write (sync over async): with
        // the default minimum on 2 cores the election's keepalives starve past the session TTL.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
        if (EtcdCluster.MissingReason is null || EtcdCluster.RequiredByCi)
        {
            _cluster = await EtcdCluster.StartAsync(1);
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// A replica's view of one etcd-backed store: its own client, an election on the prefix and the
/// store guarded by it, elected before use.
/// </summary>
internal sealed class ElectedReplica : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _run;

    private ElectedReplica(string endpoints, string prefix, string url, TimeSpan sessionTtl, ILogger<EtcdElection>? logger)
    {
        Client = EtcdConnection.Create(endpoints);
        Election = new EtcdElection(Client, new EtcdKeys(prefix), new EtcdElectionOptions { SessionTtl = sessionTtl, DriftMargin = TimeSpan.FromMilliseconds(300), AdvertiseUrl = url }, TimeProvider.System, logger);
        Store = new EtcdLeaseStore(Client, Election, endpoints);
        _run = Election.RunAsync(
            _ =>
            {
                _elected.TrySetResult();
                return Task.CompletedTask;
            },
            reason => Deposed.TrySetResult(reason),
            _stop.Token);
    }

    public EtcdClient Client { get; }

    public EtcdElection Election { get; }

    public EtcdLeaseStore Store { get; }

    public Task Elected => _elected.Task;

    public TaskCompletionSource<string> Deposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts a replica (session TTL 3 s unless given); with <paramref name="waitForElection"/> returns once it leads.</summary>
    public static async Task<ElectedReplica> StartAsync(
        string endpoints, string prefix, string url = "http://replica-a:5050", bool waitForElection = true, TimeSpan? sessionTtl = null, ILogger<EtcdElection>? logger = null)
    {
        var replica = new ElectedReplica(endpoints, prefix, url, sessionTtl ?? TimeSpan.FromSeconds(3), logger);
        if (waitForElection)
        {
            await replica.Elected.DefaultTimeout();
        }

        return replica;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.DefaultTimeout();
        Client.Dispose();
        _stop.Dispose();
    }
}

public sealed class EtcdLeaseStoreContractTests(EtcdFixture etcd) : LeaseStoreContractTests, IClassFixture<EtcdFixture>, IEngineAvailability
{
    public static string? SkipReason => EtcdCluster.RequiredByCi ? null : EtcdCluster.MissingReason;

    private readonly string _prefix = $"/it-{Guid.NewGuid():N}/";
    private ElectedReplica? _replica;

    protected override async Task<ILeaseStore> OpenAsync()
    {
        _replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        return _replica.Store;
    }

    protected override async Task<ILeaseStore> ReopenAsync(ILeaseStore store)
    {
        // A restart: the replica goes (its session is revoked), a new one is elected on the same prefix.
        await store.DisposeAsync();
        await _replica!.DisposeAsync();
        return await OpenAsync();
    }

    protected override async Task CleanUpAsync()
    {
        if (_replica is not null)
        {
            await _replica.DisposeAsync();
        }
    }
}

/// <summary>What only the etcd engine does: guarded writes, elections, transactions of at most 128 operations.</summary>
public sealed class EtcdLeaseStoreTests(EtcdFixture etcd) : IClassFixture<EtcdFixture>
{
    private readonly string _prefix = $"/it-{Guid.NewGuid():N}/";

    [EtcdFact]
    public async Task Write_OneBatchAbove128Keys_IsWrittenWhole()
    {
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        var batch = Enumerable.Range(0, 300).Select(i => Put($"file//p{i:D3}", $"v{i}")).ToList();
        batch.Add(Put("file//p000", "last")); // A later write of a key in the same batch still wins.

        await replica.Store.WriteAsync(batch);

        var entries = await replica.Store.ReadAllAsync().ToListAsync();
        entries.Should().HaveCount(300);
        Encoding.UTF8.GetString(entries[0].Value.Span).Should().Be("last");
        replica.Store.MaxKeysPerBatch.Should().Be(128, "etcd's default --max-txn-ops");
    }

    [EtcdFact]
    public async Task Write_KeysOfMultiByteCharacters_AreSplitByTheirUtf8Bytes()
    {
        // 100 records of 10,000 characters each, half of them in the key: about 1 MB counted in
        // characters, but 2 MB of UTF-8 (three bytes per character of these keys), above etcd's
        // 1.5 MiB per request, so they must go in more than one transaction.
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        var name = new string('\u5B57', 5000);
        var batch = Enumerable.Range(0, 100).Select(i => new StoreWrite($"file//{i:D3}/{name}", new byte[5000])).ToList();

        await replica.Store.WriteAsync(batch);

        (await replica.Store.ReadAllAsync().ToListAsync()).Should().HaveCount(100);
    }

    [EtcdFact]
    public async Task ReadAll_MoreThanOnePage_ReturnsEveryRecordOnce()
    {
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        for (var i = 0; i < 20; i++)
        {
            await replica.Store.WriteAsync([.. Enumerable.Range(0, 120).Select(j => Put($"file//{i:D2}/{j:D3}", "x"))]);
        }

        var keys = (await replica.Store.ReadAllAsync().ToListAsync()).Select(e => e.Key).ToList();

        keys.Should().HaveCount(2400).And.OnlyHaveUniqueItems().And.BeInAscendingOrder(StringComparer.Ordinal);
    }

    [EtcdFact]
    public async Task ReadAll_PagesAboveGrpcsDefault4MiB_AreRead()
    {
        // 1,000 records of 5 KB (a file of about 100 blocks) make one 5 MB page: over gRPC's
        // default receive limit, which would keep every replica from ever loading the store.
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        var value = new byte[5000];
        for (var i = 0; i < 10; i++)
        {
            await replica.Store.WriteAsync([.. Enumerable.Range(0, 100).Select(j => new StoreWrite($"file//{i:D2}/{j:D3}", value))]);
        }

        var entries = await replica.Store.ReadAllAsync().ToListAsync();

        entries.Should().HaveCount(1000).And.OnlyContain(e => e.Value.Length == 5000);
    }

    [EtcdFact]
    public async Task SecondReplica_IsStandby_UntilTheActiveGoes_ThenTakesOverAndSeesItsWrites()
    {
        var first = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix, "http://replica-a:5050");
        await first.Store.WriteAsync([Put("file//a", "1")]);
        await using var second = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix, "http://replica-b:5050", waitForElection: false);

        // The standby knows the active once it read the key; it never writes.
        await Poll.UntilAsync(() => second.Election.LeaderUrl == "http://replica-a:5050");
        second.Election.IsLeader.Should().BeFalse();
        second.Election.Guard.Should().BeNull();
        var refused = () => second.Store.WriteAsync([Put("file//b", "2")]).AsTask();
        await refused.Should().ThrowAsync<LeaseStoreException>().WithMessage("not the active replica*");

        await first.DisposeAsync(); // Resigns: revokes its session, the key goes at once.
        await second.Elected.DefaultTimeout();

        second.Election.IsLeader.Should().BeTrue();
        second.Election.LeaderUrl.Should().Be("http://replica-b:5050");
        (await second.Store.ReadAllAsync().ToListAsync()).Select(e => e.Key).Should().Equal(["file//a"]);
    }

    [EtcdFact]
    public async Task Write_AfterTheElectionKeyWasTakenOver_FailsTheGuard_WritesNothing_AndStepsDown()
    {
        await using var first = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix, "http://replica-a:5050");
        var guard = first.Election.Guard;
        await using var second = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix, "http://replica-b:5050", waitForElection: false);

        // As if the first's session expired unseen (a long pause): its key goes, the second takes it.
        var keys = new EtcdKeys(_prefix);
        await second.Client.DeleteAsync(keys.Leader.ToStringUtf8());
        await second.Elected.DefaultTimeout();

        var write = () => first.Store.WriteAsync([Put("file//stale", "x")]).AsTask();

        // Either the first already saw the key go (no guard), or its guarded transaction fails.
        await write.Should().ThrowAsync<LeaseStoreException>().WithMessage("not the active replica*");
        (await first.Deposed.Task.DefaultTimeout()).Should().NotBeNullOrEmpty();
        first.Election.IsLeader.Should().BeFalse();
        guard.Should().NotBe(second.Election.Guard);
        (await second.Store.ReadAllAsync().ToListAsync()).Should().BeEmpty();
    }

    [EtcdFact]
    public async Task Write_WithAStaleGuard_IsRefusedByEtcd()
    {
        // The guard itself, without the election noticing first: a transaction compares the key's create revision.
        await using var replica = await ElectedReplica.StartAsync(etcd.Endpoints, _prefix);
        var keys = new EtcdKeys(_prefix);
        var txn = new Etcdserverpb.TxnRequest();
        txn.Compare.Add(new Etcdserverpb.Compare
        {
            Key = keys.Leader,
            Target = Etcdserverpb.Compare.Types.CompareTarget.Create,
            Result = Etcdserverpb.Compare.Types.CompareResult.Equal,
            CreateRevision = replica.Election.Guard!.Value - 1,
        });
        txn.Success.Add(new Etcdserverpb.RequestOp { RequestPut = new Etcdserverpb.PutRequest { Key = ByteString.CopyFromUtf8(keys.DataPrefix + "x"), Value = ByteString.CopyFromUtf8("y") } });

        var response = await replica.Client.TransactionAsync(txn);

        response.Succeeded.Should().BeFalse();
        (await replica.Store.ReadAllAsync().ToListAsync()).Should().BeEmpty();
    }

    private static StoreWrite Put(string key, string value) => new(key, Encoding.UTF8.GetBytes(value));

}
