using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Tests.Server.Unit;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("100n", 1L)]
    [InlineData("1n", 1L)]
    [InlineData("99999999u", 999_999_990L)]
    [InlineData("0S", 0L)]
    public void TryParse_EveryUnit(string value, long expectedTicks)
    {
        GrpcTimeout.TryParse(value, out var timeout).Should().BeTrue();
        timeout.Ticks.Should().Be(expectedTicks);
    }

    [Fact]
    public void TryParse_MoreThanEightDigits_AcceptedLikeCCore()
    {
        GrpcTimeout.TryParse("500000000n", out var timeout).Should().BeTrue();
        timeout.Should().Be(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void TryParse_HugeValue_ClampsToMax()
    {
        GrpcTimeout.TryParse("99999999H", out var timeout).Should().BeTrue();
        timeout.Should().Be(GrpcTimeout.Max);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData(" 1S")]
    [InlineData("1.5S")]
    [InlineData("12345678901234567890S")]
    [InlineData("1S,2S")]
    public void TryParse_Invalid_ReturnsFalse(string? value)
    {
        GrpcTimeout.TryParse(value, out _).Should().BeFalse();
    }
}
