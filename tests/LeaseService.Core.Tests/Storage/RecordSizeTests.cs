using LeaseService.Core.Internal;
using LeaseService.Core.Internal.Storage;

namespace LeaseService.Core.Tests.Storage;

/// <summary>The bound a server sizes MaxBlocksPerFile by against a store's limit on one record.</summary>
public sealed class RecordSizeTests
{
    [Theory]
    [InlineData(1, "dn-1")]
    [InlineData(3, "dn-3")]
    [InlineData(16, "dn-1000")]
    public void RecordBytesPerBlock_IsWhatEachBlockAddsToTheRecord(int replication, string longestId)
    {
        var locations = Enumerable.Repeat(longestId, replication).ToArray();
        var file = new FileEntry("/a") { Epoch = long.MaxValue };
        var empty = RecordCodec.EncodeFile(file).Length;
        file.Blocks = [.. Enumerable.Range(1, 100).Select(i => new BlockEntry(long.MaxValue - i, long.MaxValue, locations, file) { NumBytes = long.MaxValue, RecoveryId = long.MaxValue })];

        var perBlock = (RecordCodec.EncodeFile(file).Length - empty) / 100.0;

        perBlock.Should().Be(LeaseManagerOptions.RecordBytesPerBlock(replication, longestId.Length));
    }
}
