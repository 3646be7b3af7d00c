namespace LeaseService.Core.Tests;

public sealed class ListLeasesTests
{
    private static LeaseManagerFixture WithFiles()
    {
        var f = new LeaseManagerFixture();
        foreach (var (holder, path) in new[] { ("c1", "/b/2"), ("c2", "/a/1"), ("c1", "/b/1"), ("c2", "/c"), ("c1", "/a/2"), ("c3", "/b/10") })
        {
            f.Add(holder, path);
        }

        return f;
    }

    private static List<string> Paths(LeasePage page) => page.Leases.Select(l => l.Path).ToList();

    [Fact]
    public void ListLeases_NoFilter_ReturnsAllInPathOrder()
    {
        var page = WithFiles().Manager.ListLeases(null, null, 0, null).Value!;

        Paths(page).Should().Equal("/a/1", "/a/2", "/b/1", "/b/10", "/b/2", "/c");
        page.NextPageToken.Should().BeEmpty();
    }

    [Fact]
    public void ListLeases_NonAsciiPaths_AreInCodePointOrder_AsInTheStore_AndPageAcrossThem()
    {
        var f = new LeaseManagerFixture();
        var emoji = "/u/\U0001F600"; // A supplementary character: UTF-16 ordinal would put it before U+FFFD.
        foreach (var path in new[] { emoji, "/u/\uFFFD", "/u/\u00E9", "/u/z" })
        {
            f.Add("w", path);
        }

        var all = f.Manager.ListLeases(null, "/u/", 0, null).Value!;
        var first = f.Manager.ListLeases("w", "/u/", 2, null).Value!;
        var second = f.Manager.ListLeases("w", "/u/", 2, first.NextPageToken).Value!;

        Paths(all).Should().Equal("/u/z", "/u/\u00E9", "/u/\uFFFD", emoji);
        Paths(first).Concat(Paths(second)).Should().Equal(Paths(all));
        f.Manager.GetFile(emoji).Value!.Path.Should().Be(emoji);
    }

    [Fact]
    public void AddLease_PathWithAnUnpairedSurrogate_IsInvalidArgument()
    {
        var f = new LeaseManagerFixture();

        var outcome = f.Manager.AddLease("w", "/u/\uD800x", "m");

        outcome.Kind.Should().Be(OutcomeKind.InvalidArgument);
        outcome.Message.Should().Contain("surrogate");
    }

    [Fact]
    public async Task ListLeases_Paging_IsStableAndComplete()
    {
        var f = WithFiles();
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = f.Manager.ListLeases(null, null, 4, token).Value!;
            seen.AddRange(Paths(page));
            token = page.NextPageToken;
            pages++;
            if (pages == 1)
            {
                // Files opening and closing between pages do not disturb the cursor.
                f.Add("c9", "/a/0");
                await f.Manager.RemoveLeaseAsync("c1", "/a/2");
            }
        }
        while (token.Length > 0);

        pages.Should().Be(2);
        seen.Should().Equal("/a/1", "/a/2", "/b/1", "/b/10", "/b/2", "/c");
    }

    [Fact]
    public void ListLeases_ExactPageSize_HasNoNextToken()
    {
        WithFiles().Manager.ListLeases(null, null, 6, null).Value!.NextPageToken.Should().BeEmpty();
    }

    [Fact]
    public void ListLeases_ByPrefix_ReturnsOnlyThatSubtree()
    {
        var f = WithFiles();

        Paths(f.Manager.ListLeases(null, "/b/", 0, null).Value!).Should().Equal("/b/1", "/b/10", "/b/2");
        Paths(f.Manager.ListLeases(null, "/b/1", 0, null).Value!).Should().Equal("/b/1", "/b/10");
        Paths(f.Manager.ListLeases(null, "/z", 0, null).Value!).Should().BeEmpty();
    }

    [Fact]
    public void ListLeases_ByHolderAndPrefix_PagesInPathOrder()
    {
        var f = WithFiles();

        var first = f.Manager.ListLeases("c1", null, 2, null).Value!;
        Paths(first).Should().Equal("/a/2", "/b/1");
        var second = f.Manager.ListLeases("c1", null, 2, first.NextPageToken).Value!;
        Paths(second).Should().Equal("/b/2");
        second.NextPageToken.Should().BeEmpty();
        Paths(f.Manager.ListLeases("c1", "/b", 0, null).Value!).Should().Equal("/b/1", "/b/2");
        Paths(f.Manager.ListLeases("nobody", null, 0, null).Value!).Should().BeEmpty();
    }

    [Fact]
    public void ListLeases_PageSizeAboveMaximum_IsClamped()
    {
        var f = new LeaseManagerFixture();
        for (var i = 0; i < 1100; i++)
        {
            f.Add("c1", $"/f/{i:D5}");
        }

        var page = f.Manager.ListLeases(null, null, 5000, null).Value!;

        page.Leases.Should().HaveCount(LeaseValidation.MaxPageSize);
        page.NextPageToken.Should().NotBeEmpty();
        f.Manager.ListLeases(null, null, 0, null).Value!.Leases.Should().HaveCount(LeaseValidation.DefaultPageSize);
    }

    [Theory]
    [InlineData(-1, null, "page_size")]
    [InlineData(10, "garbage", "page_token")]
    [InlineData(10, "p1.!!!", "page_token")]
    [InlineData(10, "p1.cmVsYXRpdmU", "page_token")] // "relative": not an absolute path.
    public void ListLeases_BadPaging_IsInvalidArgument(int size, string? token, string field)
    {
        var outcome = WithFiles().Manager.ListLeases(null, null, size, token);

        outcome.Kind.Should().Be(OutcomeKind.InvalidArgument);
        outcome.Message.Should().Contain(field);
    }

    [Theory]
    [InlineData("relative/")]
    [InlineData("/nul\0")]
    public void ListLeases_BadPathPrefix_IsInvalidArgument(string prefix)
    {
        var outcome = WithFiles().Manager.ListLeases(null, prefix, 10, null);

        outcome.Kind.Should().Be(OutcomeKind.InvalidArgument);
        outcome.Message.Should().Contain("path_prefix");
    }
}
