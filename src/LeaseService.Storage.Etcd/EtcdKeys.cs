using System.Text;
using Google.Protobuf;

namespace LeaseService.Storage.Etcd;

/// <summary>
/// Where a LeaseService cluster keeps its keys in etcd: everything under one prefix (default
/// <c>/leaseservice/</c>, so several clusters can share an etcd), the election key
/// <c>{prefix}leader</c> and the store's records under <c>{prefix}data/</c>.
/// </summary>
public sealed class EtcdKeys
{
    /// <summary>The prefix used when none is configured.</summary>
    public const string DefaultPrefix = "/leaseservice/";

    /// <param name="prefix">The cluster's prefix; must not be empty.</param>
    public EtcdKeys(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        Prefix = prefix;
        Leader = ByteString.CopyFromUtf8(prefix + "leader");
        DataPrefix = prefix + "data/";
        DataPrefixBytes = Encoding.UTF8.GetByteCount(DataPrefix);
        DataStart = ByteString.CopyFromUtf8(DataPrefix);
        DataEnd = RangeEnd(DataStart);
    }

    /// <summary>The configured prefix.</summary>
    public string Prefix { get; }

    /// <summary>The election key: its value is the active's advertised URL, bound to its session lease.</summary>
    public ByteString Leader { get; }

    /// <summary>The prefix of the store's records.</summary>
    public string DataPrefix { get; }

    internal int DataPrefixBytes { get; }

    internal ByteString DataStart { get; }

    internal ByteString DataEnd { get; }

    internal ByteString Data(string key) => ByteString.CopyFromUtf8(DataPrefix + key);

    /// <summary>etcd's range end for "every key with this prefix": the prefix with its last byte incremented.</summary>
    internal static ByteString RangeEnd(ByteString prefix)
    {
        var end = prefix.ToByteArray();
        for (var i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xff)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        return ByteString.CopyFrom(0); // Every key.
    }
}
