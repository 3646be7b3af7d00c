using System.Runtime.CompilerServices;
using System.Text;
using LeaseService.Core.Internal;

namespace LeaseService.Core.Tests.Internal;

/// <summary>
/// The open-file treap on its own: after any mix of inserts and removes it is a search tree in
/// UTF-8 byte order and a heap by priority, and a page lists exactly the files it holds.
/// </summary>
public sealed class OpenFileIndexTests
{
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    [InlineData(false, 3)]
    public void RandomInsertsAndRemoves_KeepOrderHeapAndContents(bool perHolder, int seed)
    {
        var random = new Random(seed);
        var index = new OpenFileIndex(perHolder);
        var present = new Dictionary<string, FileEntry>(StringComparer.Ordinal);
        for (var step = 0; step < 4000; step++)
        {
            var path = $"/d{random.Next(40)}/é{random.Next(200)}";
            if (present.Remove(path, out var file))
            {
                index.Remove(file);
                Links(file, perHolder).Should().Be((null, null), "a removed file keeps no links");
            }
            else
            {
                file = new FileEntry(path);
                index.Add(file);
                present.Add(path, file);
            }

            if (step % 500 == 499)
            {
                Check(index, present, perHolder);
            }
        }

        foreach (var file in present.Values.ToList())
        {
            index.Remove(file);
            present.Remove(file.Path);
        }

        index.Count.Should().Be(0);
        index.Any.Should().BeNull();
    }

    [Fact]
    public void AscendingInserts_StayBalanced()
    {
        var index = new OpenFileIndex(perHolder: false);
        var present = new Dictionary<string, FileEntry>(StringComparer.Ordinal);
        for (var i = 0; i < 20_000; i++)
        {
            var file = new FileEntry($"/load/{i:D8}");
            index.Add(file);
            present.Add(file.Path, file);
        }

        Check(index, present, perHolder: false);
        Depth(index.Any, perHolder: false).Should().BeLessThan(80, "random priorities keep a treap of 20,000 near 2·ln n deep whatever the insertion order");
    }

    private static void Check(OpenFileIndex index, Dictionary<string, FileEntry> present, bool perHolder)
    {
        index.Count.Should().Be(present.Count);
        var expected = present.Keys.OrderBy(Encoding.UTF8.GetBytes, ByteOrder.Instance).ToList();
        var listed = new List<FileEntry>();
        index.Collect(after: null, prefix: "/", max: int.MaxValue, listed);
        listed.Select(f => f.Path).Should().Equal(expected);

        var page = new List<FileEntry>();
        index.Collect(after: expected[expected.Count / 2], prefix: "/d1", max: 10, page);
        page.Select(f => f.Path).Should().Equal(expected.Where(p => p.StartsWith("/d1", StringComparison.Ordinal)
            && ByteOrder.Instance.Compare(Encoding.UTF8.GetBytes(p), Encoding.UTF8.GetBytes(expected[expected.Count / 2])) > 0).Take(10));

        CheckHeap(index.Any, perHolder);
    }

    private static void CheckHeap(FileEntry? node, bool perHolder)
    {
        if (node is null)
        {
            return;
        }

        var (left, right) = Links(node, perHolder);
        foreach (var child in new[] { left, right })
        {
            if (child is not null)
            {
                RuntimeHelpers.GetHashCode(child).Should().BeLessThanOrEqualTo(RuntimeHelpers.GetHashCode(node), "a parent's priority is at least its children's");
            }
        }

        CheckHeap(left, perHolder);
        CheckHeap(right, perHolder);
    }

    private static int Depth(FileEntry? node, bool perHolder)
        => node is null ? 0 : 1 + Math.Max(Depth(Links(node, perHolder).Left, perHolder), Depth(Links(node, perHolder).Right, perHolder));

    private static (FileEntry? Left, FileEntry? Right) Links(FileEntry file, bool perHolder)
        => perHolder ? (file.HolderLeft, file.HolderRight) : (file.OpenLeft, file.OpenRight);

    private sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
