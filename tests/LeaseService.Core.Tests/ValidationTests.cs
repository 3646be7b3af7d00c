namespace LeaseService.Core.Tests;

public sealed class ValidationTests
{
    public static TheoryData<string> BadHolders => new()
    {
        string.Empty,
        new string('h', 257),
        new string('é', 129), // 258 UTF-8 bytes.
        "tab\there",
        "nl\n",
        "LeaseService-recovery-1",
    };

    public static TheoryData<string> BadPaths => new()
    {
        string.Empty,
        "relative/path",
        "/",
        "/a//b",
        "/a/b/",
        "/a/./b",
        "/a/../b",
        "/..",
        "/a\0b",
        "/" + new string('p', 4096),
    };

    [Theory]
    [MemberData(nameof(BadHolders))]
    public async Task AddLease_BadHolder_IsInvalidAndChangesNothing(string holder)
    {
        var f = new LeaseManagerFixture();

        f.Manager.AddLease(holder, "/a", "m").Kind.Should().Be(OutcomeKind.InvalidArgument);
        (await f.Manager.RenewLeaseAsync(holder)).Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.GetStatistics().Files.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(BadPaths))]
    public async Task Operations_BadPath_AreInvalidAndChangeNothing(string path)
    {
        var f = new LeaseManagerFixture();

        f.Manager.AddLease("c1", path, "m").Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.GetLease(path).Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.RecoverLease(path, null, true).Kind.Should().Be(OutcomeKind.InvalidArgument);
        (await f.Manager.RemoveLeaseAsync("c1", path)).Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.GetStatistics().Files.Should().Be(0);
    }

    [Fact]
    public void Limits_AtTheEdge_AreAccepted()
    {
        var f = new LeaseManagerFixture();

        f.Manager.AddLease(new string('h', 256), "/" + new string('p', 4095), "m").IsOk.Should().BeTrue();
        f.Manager.AddLease("ünïcødé holder", "/dir with spaces/файл", "m").IsOk.Should().BeTrue();
    }

    [Fact]
    public void AddLease_ControlCharacterInMachine_IsInvalid()
    {
        new LeaseManagerFixture().Manager.AddLease("c1", "/a", "host\r\n").Kind.Should().Be(OutcomeKind.InvalidArgument);
    }

    [Fact]
    public void AddLease_UnpairedSurrogateInHolderOrMachine_IsInvalid()
    {
        // Over gRPC the UTF-8 check refuses these first; the core refuses them for embedders too,
        // since a name stored as UTF-8 would come back from a restart as another name.
        var f = new LeaseManagerFixture();

        f.Manager.AddLease("h\uD800", "/a", "m").Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.AddLease("\uDC00h", "/a", "m").Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.AddLease("c1", "/a", "host\uD800").Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.AddLease("h\uD83D\uDE00", "/a", "host\uD83D\uDE00").IsOk.Should().BeTrue("a surrogate pair is a valid character");
        f.Manager.GetStatistics().Files.Should().Be(1);
    }

    [Fact]
    public void RecoverLease_ReservedRequester_IsInvalid()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");

        f.Manager.RecoverLease("/a", "LeaseService-recovery-x", true).Kind.Should().Be(OutcomeKind.InvalidArgument);
        f.Manager.GetLease("/a").Value!.Holder.Should().Be("c1");
    }
}

/// <summary>Status messages repeat at most 128 characters of what the caller sent.</summary>
public sealed class EchoBoundTests
{
    [Fact]
    public async Task NotFound_LongestValidPath_EchoesAtMost128Characters()
    {
        var f = new LeaseManagerFixture();
        var path = "/" + new string('é', 2000); // 4,001 UTF-8 bytes: valid, and 12 KiB percent-encoded.

        var missing = await f.Manager.GetFileAsync(path);

        missing.Kind.Should().Be(OutcomeKind.NotFound);
        missing.Message.Should().Contain(path[..128] + "…").And.NotContain(path[..129]);
        missing.Message.Length.Should().BeLessThan(LeaseValidation.MaxEchoedChars + 40);
    }

    [Fact]
    public void Echo_NeverSplitsASurrogatePair()
    {
        var text = new string('a', 127) + "😀" + "tail";

        var echoed = LeaseValidation.Echo(text);

        echoed.Should().Be(new string('a', 127) + "…");
    }
}
