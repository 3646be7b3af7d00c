using System.Runtime.CompilerServices;
using System.Text;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using LeaseService.Core.Storage;

namespace LeaseService.Storage.Etcd;

/// <summary>
/// The etcd engine: records under <see cref="EtcdKeys.DataPrefix"/>, every batch one etcd
/// transaction guarded by the election key's create revision (<see cref="EtcdElection.Guard"/>),
/// so only the active replica can write, and a replica that lost the key learns it on its next
/// write (the election is told, and steps down). etcd's raft log makes a committed transaction
/// durable on a quorum before it answers.
/// </summary>
/// <remarks>
/// etcd allows <see cref="MaxOpsPerTransaction"/> operations per transaction (its default
/// <c>--max-txn-ops</c>) and about 1.5 MiB per request. The group-commit writer cuts its batches
/// between commits at <see cref="MaxKeysPerBatch"/> keys, so every batch it forms is one
/// transaction: atomic. Only one commit larger than that alone (one step that changes more than
/// 127 files), or a batch whose records pass <see cref="MaxBytesPerTransaction"/> of UTF-8 keys
/// and values together (files of thousands of blocks), is written as several transactions, in
/// order; each record is still whole, the
/// write is reported durable only when all of them are, and a failure part-way leaves a prefix
/// of the step's records applied (records are full states, so the state reloaded afterwards is
/// each file either before or after the step).
/// </remarks>
public sealed class EtcdLeaseStore : ILeaseStore
{
    /// <summary>etcd's default limit of operations in one transaction.</summary>
    public const int MaxOpsPerTransaction = 128;

    /// <summary>etcd's default limit on one request (<c>--max-request-bytes</c>, 1.5 MiB): one record must fit in it.</summary>
    public const int MaxRequestBytes = 1536 * 1024;

    /// <summary>Bytes of keys and values in one transaction, below <see cref="MaxRequestBytes"/>; a single larger record is a transaction of its own.</summary>
    public const int MaxBytesPerTransaction = 1024 * 1024;

    private const int PageSize = 1000;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly EtcdClient _client;
    private readonly EtcdElection _election;
    private readonly EtcdKeys _keys;

    /// <param name="client">The etcd client; the caller owns it.</param>
    /// <param name="election">This replica's election: writes are guarded by its key.</param>
    /// <param name="endpoints">The endpoints, for <see cref="Description"/>.</param>
    public EtcdLeaseStore(EtcdClient client, EtcdElection election, string endpoints)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(election);
        _client = client;
        _election = election;
        _keys = election.Keys;
        Description = $"Etcd at {endpoints}, prefix {_keys.Prefix}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public int MaxKeysPerBatch => MaxOpsPerTransaction;

    /// <inheritdoc/>
    /// <remarks>A linearizable read, in pages pinned to the first page's revision: one consistent snapshot.</remarks>
    public async IAsyncEnumerable<StoreEntry> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var kv = _client.GetConnection().KVClient;
        var from = _keys.DataStart;
        long revision = 0;
        while (true)
        {
            RangeResponse page;
            try
            {
                page = await kv.RangeAsync(
                    new RangeRequest { Key = from, RangeEnd = _keys.DataEnd, Limit = PageSize, Revision = revision },
                    deadline: Deadline(),
                    cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex)
            {
                throw new LeaseStoreException($"cannot read the store ({Description}): {Describe(ex)}", ex);
            }

            revision = page.Header.Revision;
            foreach (var record in page.Kvs)
            {
                var key = record.Key.Span;
                yield return new StoreEntry(Encoding.UTF8.GetString(key[_keys.DataPrefixBytes..]), record.Value.Memory);
            }

            if (!page.More || page.Kvs.Count == 0)
            {
                yield break;
            }

            // The next page starts just after the last key.
            var last = page.Kvs[^1].Key;
            from = ByteString.CopyFrom([.. last.Span, 0]);
        }
    }

    /// <inheritdoc/>
    /// <remarks>A linearizable point read: it sees every transaction committed before it began.</remarks>
    public async ValueTask<byte[]?> ReadAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        RangeResponse response;
        try
        {
            response = await _client.GetConnection().KVClient.RangeAsync(
                new RangeRequest { Key = _keys.Data(key) },
                deadline: Deadline(),
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw new LeaseStoreException($"cannot read {key} from the store ({Description}): {Describe(ex)}", ex);
        }

        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToByteArray();
    }

    /// <inheritdoc/>
    public async ValueTask WriteAsync(IReadOnlyList<StoreWrite> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var guard = _election.Guard ?? throw new LeaseStoreException("not the active replica: this replica does not hold the election key");

        // A key may appear once per transaction: the later write of a key wins.
        var last = new Dictionary<string, byte[]?>(batch.Count, StringComparer.Ordinal);
        foreach (var write in batch)
        {
            last[write.Key] = write.Value;
        }

        var kv = _client.GetConnection().KVClient;
        TxnRequest? txn = null;
        var bytes = 0;
        foreach (var (key, value) in last)
        {
            var stored = _keys.Data(key);
            var op = value is null
                ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = stored } }
                : new RequestOp { RequestPut = new PutRequest { Key = stored, Value = ByteString.CopyFrom(value) } };
            var size = stored.Length + (value?.Length ?? 0) + 64; // Bytes on the wire: the prefixed UTF-8 key, the value, the op's framing.
            if (txn is not null && (txn.Success.Count == MaxOpsPerTransaction || bytes + size > MaxBytesPerTransaction))
            {
                await CommitAsync(kv, txn, cancellationToken).ConfigureAwait(false);
                txn = null;
            }

            if (txn is null)
            {
                txn = Guarded(guard);
                bytes = 0;
            }

            txn.Success.Add(op);
            bytes += size;
        }

        if (txn is not null)
        {
            await CommitAsync(kv, txn, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private TxnRequest Guarded(long guard)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare
        {
            Key = _keys.Leader,
            Target = Compare.Types.CompareTarget.Create,
            Result = Compare.Types.CompareResult.Equal,
            CreateRevision = guard,
        });
        return txn;
    }

    private async Task CommitAsync(KV.KVClient kv, TxnRequest txn, CancellationToken cancellationToken)
    {
        TxnResponse response;
        try
        {
            response = await kv.TxnAsync(txn, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            throw new LeaseStoreException($"etcd write failed: {Describe(ex)}", ex);
        }

        if (!response.Succeeded)
        {
            _election.GuardFailed(txn.Compare[0].CreateRevision);
            throw new LeaseStoreException("not the active replica: the election key is gone or held by another replica; this replica stepped down");
        }
    }

    private static string Describe(RpcException ex) => $"{ex.Status.StatusCode}: {ex.Status.Detail}";

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;
}
