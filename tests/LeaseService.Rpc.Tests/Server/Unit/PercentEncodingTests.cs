using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Tests.Server.Unit;

public sealed class PercentEncodingTests
{
    [Theory]
    [InlineData("plain text, with / punctuation: ok!", "plain text, with / punctuation: ok!")]
    [InlineData("50% done ✓\n", "50%25 done %E2%9C%93%0A")]
    [InlineData("tab\there", "tab%09here")]
    [InlineData("", "")]
    public void Encode_OnlyBytesOutsidePrintableAsciiAndPercent(string value, string expected)
    {
        PercentEncoding.Encode(value).Should().Be(expected);
    }

    [Fact]
    public void Encode_NothingToEncode_ReturnsSameInstance()
    {
        var value = "Method not found: /x.Y/Z";
        PercentEncoding.Encode(value).Should().BeSameAs(value);
    }

    [Theory]
    [InlineData("50% done ✓\n")]
    [InlineData("ünïcödé and 日本語")]
    public void Decode_RoundTrips(string value)
    {
        PercentEncoding.Decode(PercentEncoding.Encode(value)).Should().Be(value);
    }

    [Theory]
    [InlineData("100%")]
    [InlineData("%G1 bad")]
    [InlineData("%2")]
    public void Decode_BrokenEscapes_KeptAsIs(string value)
    {
        PercentEncoding.Decode(value).Should().Be(value);
    }

    [Fact]
    public void Decode_UnencodedCharacterOutsideBmp_KeptWhole()
    {
        PercentEncoding.Decode("rocket 🚀 100%25").Should().Be("rocket 🚀 100%");
    }
}
