using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Tests.Server.Unit;

public sealed class FrameHeaderTests
{
    [Fact]
    public void TryReadHeader_ContiguousHeader_ReadsFlagAndBigEndianLength()
    {
        var ok = MessageFraming.TryReadHeader(SegmentedSequence.Create([1, 0x01, 0x02, 0x03, 0x04, 0xAA]), out var flag, out var length);

        ok.Should().BeTrue();
        flag.Should().Be(1);
        length.Should().Be(0x01020304u);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TryReadHeader_HeaderAcrossSegments_ReadsIt(int split)
    {
        byte[] header = [0, 0x00, 0x00, 0x01, 0x00];

        var ok = MessageFraming.TryReadHeader(SegmentedSequence.Create(header[..split], header[split..]), out var flag, out var length);

        ok.Should().BeTrue();
        flag.Should().Be(0);
        length.Should().Be(256u);
    }

    [Fact]
    public void TryReadHeader_OneByteSegments_ReadsIt()
    {
        var ok = MessageFraming.TryReadHeader(SegmentedSequence.Create([0], [0xFF], [0xFF], [0xFF], [0xFF]), out _, out var length);

        ok.Should().BeTrue();
        length.Should().Be(uint.MaxValue);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void TryReadHeader_PartialHeader_ReturnsFalse(int available)
    {
        MessageFraming.TryReadHeader(SegmentedSequence.Create(new byte[available]), out _, out _).Should().BeFalse();
    }
}
