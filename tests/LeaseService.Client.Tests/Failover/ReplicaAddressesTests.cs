using LeaseService.Client.Internal.Failover;

namespace LeaseService.Client.Tests.Failover;

/// <summary>Parsing the replica list, matching a standby's hint against it, and what <see cref="LeaseClient.Create(IEnumerable{string}, LeaseClientOptions?)"/> refuses.</summary>
public sealed class ReplicaAddressesTests
{
    [Fact]
    public void CommaSeparatedAndListed_InOrder_DuplicatesOnce()
    {
        var addresses = ReplicaAddresses.Parse(["http://a:5050, http://B:5050/", "https://c", "http://a:5050"]);

        addresses.All.Should().Equal(new Uri("http://a:5050"), new Uri("http://b:5050"), new Uri("https://c:443"));
    }

    [Theory]
    [InlineData("http://B:5050", 1)]
    [InlineData("http://b:5050/some/path", 1)]
    [InlineData(" https://c/ ", 2)]
    [InlineData("https://c:443", 2)]
    [InlineData("http://c", -1)]          // Another scheme is another address.
    [InlineData("http://a:5051", -1)]
    [InlineData("a:5050", -1)]
    [InlineData("not a url", -1)]
    [InlineData("", -1)]
    public void IndexOf_SchemeHostPortCompared(string hint, int expected)
        => ReplicaAddresses.Parse(["http://a:5050", "http://b:5050", "https://c"]).IndexOf(hint).Should().Be(expected);

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    [InlineData("http://a:5050,localhost:5050")]
    [InlineData("http://a:5050,ftp://b")]
    public void NoneOrInvalid_Refused(string list)
        => FluentActions.Invoking(() => LeaseClient.Create([list])).Should().Throw<ArgumentException>();

    [Theory]
    [InlineData("localhost:5050")]
    [InlineData("127.0.0.1:5050")]
    public void OneAddressWithoutAScheme_Refused_SayingWhatToWrite(string address)
    {
        // Was InvalidOperationException "No address resolver configured for the scheme 'localhost'",
        // or UriFormatException, where a list of several such addresses gets an ArgumentException.
        FluentActions.Invoking(() => LeaseClient.Create(address))
            .Should().Throw<ArgumentException>().WithMessage($"'{address}' has no scheme: write http://{address} (or https://).*");
    }

    [Fact]
    public void BearerTokenOverCleartextToAnyNonLoopbackReplica_Refused()
        => FluentActions.Invoking(() => LeaseClient.Create("http://127.0.0.1:5050,http://leases.example:5050", new LeaseClientOptions { BearerToken = "t" }))
            .Should().Throw<ArgumentException>().WithMessage("*http://leases.example:5050*");

    [Fact]
    public void FailoverSettingsOutOfRange_Refused()
    {
        FluentActions.Invoking(() => LeaseClient.Create("http://a:1,http://b:1", new LeaseClientOptions { FailoverAttempts = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => LeaseClient.Create("http://a:1,http://b:1", new LeaseClientOptions { FailoverBackoff = TimeSpan.FromSeconds(3) })).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void SeveralAddresses_ClientKnowsThem_FirstIsItsAddress()
    {
        using var client = LeaseClient.Create("http://a:5050,http://b:5050");

        client.Addresses.Should().Equal(new Uri("http://a:5050"), new Uri("http://b:5050"));
        client.Address.Should().Be(new Uri("http://a:5050"));
        client.ActiveAddress.Should().Be(new Uri("http://a:5050"));
    }

    [Fact]
    public void OneAddressInAList_ASingleServerClient()
    {
        using var client = LeaseClient.Create(["http://a:5050"]);

        client.Addresses.Should().Equal(new Uri("http://a:5050"));
    }
}
