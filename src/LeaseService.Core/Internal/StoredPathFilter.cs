using System.Buffers;
using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace LeaseService.Core.Internal;

/// <summary>
/// The paths the store may hold a record of while memory does not hold the file (closed files
/// that left memory): a Bloom filter, so opening a path that never existed needs no read from the
/// store (on etcd, a linearizable read per AddLease; on RocksDB, a point lookup). No false
/// negatives: every path added answers true. A false positive (about 1% per layer) only costs the
/// read that would have been made anyway; the rate adds up over the layers. Nothing is removed: a
/// deleted path may still answer true, and the filter only grows until the next load rebuilds it.
/// 10 bits a path rounded up to a power of two; a new layer twice the size of the last is added
/// when it is full.
/// Shares the manager's lock (it is part of <see cref="FileNamespace"/>).
/// </summary>
internal sealed class StoredPathFilter
{
    /// <summary>The first layer's capacity when the store holds few closed files: 128 KiB of bits.</summary>
    public const int DefaultCapacity = 1 << 16;

    private const int BitsPerPath = 10;
    private const int Probes = 7;
    private const int StackLimit = 512;
    private const int MaxLayerCapacity = 1 << 26; // Rounded up, 2^30 bits (128 MiB): the largest power of two an int counts.
    private readonly List<Layer> _layers = [];

    /// <param name="capacity">Paths the first layer holds at its false-positive rate (at least 1,024, at most 2^26).</param>
    public StoredPathFilter(int capacity = DefaultCapacity) => _layers.Add(new Layer(Math.Clamp(capacity, 1024, MaxLayerCapacity)));

    /// <summary>Bytes the filter's bits take.</summary>
    public long Bytes => _layers.Sum(l => (long)l.Bits.Length * sizeof(ulong));

    /// <summary>The hash the filter keeps of a path, from its UTF-8 bytes (the store's key order).</summary>
    public static ulong Hash(ReadOnlySpan<byte> utf8) => XxHash3.HashToUInt64(utf8);

    public static ulong Hash(string path)
    {
        byte[]? rented = null;
        var buffer = path.Length * 3 <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(path.Length * 3));
        try
        {
            return Hash(buffer[..Encoding.UTF8.GetBytes(path, buffer)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public void Add(string path) => Add(Hash(path));

    public void Add(ReadOnlySpan<byte> utf8) => Add(Hash(utf8));

    public void Add(ulong hash)
    {
        if (Contains(hash))
        {
            return; // Already answers true: no need to fill the layer further.
        }

        var last = _layers[^1];
        if (last.Count >= last.Capacity)
        {
            last = new Layer(Math.Min(last.Capacity * 2, MaxLayerCapacity));
            _layers.Add(last);
        }

        last.Set(hash);
    }

    /// <summary>False when the store holds no record of <paramref name="path"/> outside memory; true when it may.</summary>
    public bool MightContain(string path) => Contains(Hash(path));

    private bool Contains(ulong hash)
    {
        foreach (var layer in _layers)
        {
            if (layer.Test(hash))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Layer
    {
        private readonly int _mask;

        public Layer(int capacity)
        {
            Capacity = capacity;
            var bits = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(64, capacity * BitsPerPath));
            Bits = new ulong[bits / 64];
            _mask = bits - 1;
        }

        public int Capacity { get; }

        public int Count { get; private set; }

        public ulong[] Bits { get; }

        public void Set(ulong hash)
        {
            // Double hashing (Kirsch-Mitzenmacher): probe i is h1 + i*h2, h2 odd so the probes differ.
            var (h1, h2) = ((uint)hash, (uint)(hash >> 32) | 1);
            for (uint i = 0; i < Probes; i++)
            {
                var bit = (int)((h1 + (i * h2)) & (uint)_mask);
                Bits[bit >> 6] |= 1UL << bit;
            }

            Count++;
        }

        public bool Test(ulong hash)
        {
            var (h1, h2) = ((uint)hash, (uint)(hash >> 32) | 1);
            for (uint i = 0; i < Probes; i++)
            {
                var bit = (int)((h1 + (i * h2)) & (uint)_mask);
                if ((Bits[bit >> 6] & (1UL << bit)) == 0)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
