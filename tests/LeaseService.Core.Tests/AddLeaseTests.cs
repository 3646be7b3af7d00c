namespace LeaseService.Core.Tests;

public sealed class AddLeaseTests
{
    [Fact]
    public void AddLease_NewPath_GrantsActiveLeaseWithEpoch()
    {
        var f = new LeaseManagerFixture();

        var lease = f.Add("client-1", "/data/a", "host-a");

        lease.Path.Should().Be("/data/a");
        lease.Holder.Should().Be("client-1");
        lease.ClientMachine.Should().Be("host-a");
        lease.State.Should().Be(LeaseState.Active);
        lease.Epoch.Should().BePositive();
        lease.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft);
        lease.HardLimitRemaining.Should().Be(LeaseManagerFixture.Hard);
        lease.LastRenewed.Should().Be(f.Time.GetUtcNow());
    }

    [Fact]
    public void AddLease_SameHolderAgain_IsIdempotentAndRenews()
    {
        var f = new LeaseManagerFixture();
        var first = f.Add("client-1", "/data/a");
        f.Time.Advance(TimeSpan.FromSeconds(50));

        var again = f.Add("client-1", "/data/a");

        again.Epoch.Should().Be(first.Epoch, "a retried grant is not a new grant");
        again.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft, "adding renews the holder's lease");
        f.Manager.GetStatistics().OpenFiles.Should().Be(1);
    }

    [Fact]
    public void AddLease_RenewsEveryPathOfTheHolder()
    {
        var f = new LeaseManagerFixture();
        f.Add("client-1", "/a");
        f.Time.Advance(TimeSpan.FromSeconds(59));

        f.Add("client-1", "/b");

        f.Manager.GetLease("/a").Value!.SoftLimitRemaining.Should().Be(LeaseManagerFixture.Soft);
    }

    [Fact]
    public void AddLease_OtherHolderWithinSoftLimit_FailsNamingHolderAndMachine()
    {
        var f = new LeaseManagerFixture();
        f.Add("client-1", "/data/a", "host-a");
        f.Time.Advance(LeaseManagerFixture.Soft); // Exactly at the limit: still held (strict >).

        var outcome = f.Manager.AddLease("client-2", "/data/a", "host-b");

        outcome.Kind.Should().Be(OutcomeKind.FailedPrecondition);
        outcome.Message.Should().Contain("client-1").And.Contain("host-a");
        f.Manager.GetLease("/data/a").Value!.Holder.Should().Be("client-1");
    }

    [Fact]
    public async Task AddLease_OtherHolderPastSoftLimit_RecoversAndGrantsWithHigherEpoch()
    {
        var f = new LeaseManagerFixture();
        var old = f.Add("client-1", "/data/a");
        f.Time.Advance(LeaseManagerFixture.Soft + TimeSpan.FromTicks(1));

        var outcome = f.Manager.AddLease("client-2", "/data/a", "host-b");

        outcome.IsOk.Should().BeTrue(outcome.ToString());
        outcome.Value!.Holder.Should().Be("client-2");
        outcome.Value.Epoch.Should().BeGreaterThan(old.Epoch);
        (await f.Manager.RenewLeaseAsync("client-1")).Kind.Should().Be(OutcomeKind.NotFound, "the old writer lost its only path");
    }

    [Fact]
    public async Task AddLease_ClosedFile_ReopensForAppendWithHigherEpoch()
    {
        var f = new LeaseManagerFixture();
        var first = f.Add("client-1", "/data/a");
        (await f.Manager.RemoveLeaseAsync("client-1", "/data/a")).Value.Should().BeTrue();

        var append = f.Add("client-2", "/data/a");

        append.Holder.Should().Be("client-2");
        append.Epoch.Should().BeGreaterThan(first.Epoch);
    }

    [Fact]
    public void Epochs_StrictlyIncreaseAcrossGrantsAndRecoveries()
    {
        var f = new LeaseManagerFixture();
        var epochs = new List<long> { f.Add("c1", "/p").Epoch };
        f.Manager.RecoverLease("/p", "ops", force: true).IsOk.Should().BeTrue();
        epochs.Add(f.Manager.GetFile("/p").Value!.Epoch);
        epochs.Add(f.Add("c2", "/p").Epoch);
        f.Time.Advance(LeaseManagerFixture.Soft + TimeSpan.FromSeconds(1));
        epochs.Add(f.Add("c3", "/p").Epoch);

        epochs.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task Epochs_OfALaterRun_AreAboveEverythingAnEarlierRunIssued_EvenWithTheClockSetBack()
    {
        var store = new LeaseService.Core.Storage.InMemoryLeaseStore();
        var before = new LeaseManager(new LeaseManagerOptions(), TestDataNodes.None(), new LeaseService.Testing.FakeTimeProvider(), store: store);
        await before.LoadAsync();
        long last = 0;
        for (var i = 0; i < 1000; i++)
        {
            last = before.AddLease($"h{i}", $"/p/{i}", "m").Value!.Epoch;
        }

        await before.DisposeAsync();

        // A restart on a machine whose wall clock is a year behind: the persisted counter decides.
        var earlier = new LeaseService.Testing.FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var after = new LeaseManager(new LeaseManagerOptions(), TestDataNodes.None(), earlier, store: store);
        await after.LoadAsync();

        after.AddLease("h-new", "/p/new", "m").Value!.Epoch.Should().Be(last + 1, "the counter continues, nothing is skipped or reused");
    }
}
