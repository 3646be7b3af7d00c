namespace LeaseService.Core.Tests;

public sealed class MonitorTests
{
    [Fact]
    public void MonitorPass_AtExactlyHardLimit_KeepsLease()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Time.Advance(LeaseManagerFixture.Hard);

        var pass = f.Pass();

        pass.LeasesExamined.Should().Be(0);
        f.Manager.GetLease("/a").IsOk.Should().BeTrue();
    }

    [Fact]
    public async Task MonitorPass_PastHardLimit_RecoversAndClosesFile()
    {
        var f = new LeaseManagerFixture();
        var lease = f.Add("c1", "/a");
        f.Time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromTicks(1));

        var pass = f.Pass();

        (pass.LeasesExamined, pass.FilesExpired, pass.FilesClosed, pass.RecoveriesStarted, pass.BudgetExhausted).Should().Be((1, 1, 1, 0, false));
        f.Manager.GetLease("/a").Kind.Should().Be(OutcomeKind.NotFound);
        f.Manager.GetFile("/a").Value!.Epoch.Should().BeGreaterThan(lease.Epoch);
        (await f.Manager.RenewLeaseAsync("c1")).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task MonitorPass_RenewedLease_IsNotExpired()
    {
        var f = new LeaseManagerFixture();
        f.Add("c1", "/a");
        f.Time.Advance(LeaseManagerFixture.Hard - TimeSpan.FromSeconds(1));
        await f.Manager.RenewLeaseAsync("c1");
        f.Time.Advance(TimeSpan.FromSeconds(2));

        f.Pass().LeasesExamined.Should().Be(0);
        f.Manager.GetLease("/a").IsOk.Should().BeTrue();
    }

    [Fact]
    public void MonitorPass_OnlyExpiredLeasesAreTouched()
    {
        var f = new LeaseManagerFixture();
        f.Add("old", "/old");
        f.Time.Advance(TimeSpan.FromMinutes(5));
        f.Add("young", "/young");
        f.Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(1));

        f.Pass().LeasesExamined.Should().Be(1);

        f.Manager.GetLease("/old").Kind.Should().Be(OutcomeKind.NotFound);
        f.Manager.GetLease("/young").IsOk.Should().BeTrue();
    }

    [Fact]
    public async Task MonitorPass_OrderIsRenewalOrderNotInsertionOrder()
    {
        var f = new LeaseManagerFixture(options: new LeaseManagerOptions { SoftLimit = LeaseManagerFixture.Soft, HardLimit = LeaseManagerFixture.Hard, MonitorBatchSize = 1 });
        f.Add("h1", "/1");
        f.Time.Advance(TimeSpan.FromSeconds(1));
        f.Add("h2", "/2");
        f.Time.Advance(TimeSpan.FromSeconds(1));
        await f.Manager.RenewLeaseAsync("h1"); // h1 is now younger than h2.
        f.Time.Advance(LeaseManagerFixture.Hard);

        f.WorkClock.AutoAdvanceAmount = TimeSpan.FromMilliseconds(30); // One batch of one file spends the 25 ms budget.
        f.Pass().LeasesExamined.Should().Be(1);

        f.Manager.GetLease("/2").Kind.Should().Be(OutcomeKind.NotFound);
        f.Manager.GetLease("/1").IsOk.Should().BeTrue();
    }

    [Fact]
    public void MonitorPass_HolderWithManyFiles_ReleasesAllOfThem()
    {
        var f = new LeaseManagerFixture();
        for (var i = 0; i < 100; i++)
        {
            f.Add("big", $"/f/{i}");
        }

        f.Time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromSeconds(1));

        f.Pass().FilesClosed.Should().Be(100);
        f.Manager.GetStatistics().OpenFiles.Should().Be(0);
    }

    [Fact]
    public void MonitorPass_NothingExpired_DoesNoWork()
    {
        var f = new LeaseManagerFixture();
        for (var i = 0; i < 1000; i++)
        {
            f.Add($"h{i}", $"/f/{i}");
        }

        var pass = f.Pass();

        pass.DidWork.Should().BeFalse();
        (pass.FilesExpired, pass.BacklogFiles, pass.Batches, pass.BudgetExhausted).Should().Be((0, 0, 1, false));
    }

    [Fact]
    public async Task RecoveriesRunningPastTheHardLimit_TheRecoveryHoldersLeaseDoesNotExpire_NothingCountedAgain()
    {
        var f = new LeaseManagerFixture(TestDataNodes.Live("dn-1", "dn-2", "dn-3")); // Recovery commands never answer.
        f.Add("w", "/a");
        (await f.Manager.AddBlockAsync("w", "/a")).IsOk.Should().BeTrue();
        f.Manager.RecoverLease("/a", null, force: true).Value!.Closed.Should().BeFalse();

        var (expired, examined, retried) = (0, 0, 0);
        for (var elapsed = TimeSpan.Zero; elapsed < LeaseManagerFixture.Hard * 2; elapsed += TimeSpan.FromSeconds(91))
        {
            f.Time.Advance(TimeSpan.FromSeconds(91));
            var pass = f.Pass();
            (expired, examined, retried) = (expired + pass.FilesExpired, examined + pass.LeasesExamined, retried + pass.RecoveriesRetried);
        }

        (expired, examined).Should().Be((0, 0), "no writer's lease reached the hard limit: /a went into recovery by RecoverLease");
        retried.Should().BePositive("the recovery itself is retried on its own timeout");
        f.Manager.GetStatistics().OpenFiles.Should().Be(1);
    }

    [Fact]
    public async Task RecoveryHolder_TakesANewNameOnceTheCurrentOneIsOlderThanTheHardLimit()
    {
        var f = new LeaseManagerFixture(TestDataNodes.Live("dn-1", "dn-2", "dn-3")); // Recovery commands never answer.
        foreach (var path in new[] { "/a", "/b", "/c" })
        {
            f.Add("w", path);
            (await f.Manager.AddBlockAsync("w", path)).IsOk.Should().BeTrue();
        }

        var first = f.Manager.RecoverLease("/a", null, force: true).Value!.Lease!.Holder;
        f.Time.Advance(LeaseManagerFixture.Hard);
        f.Manager.RecoverLease("/b", null, force: true).Value!.Lease!.Holder.Should().Be(first, "not older than the hard limit yet");
        f.Time.Advance(TimeSpan.FromTicks(1));

        var second = f.Manager.RecoverLease("/c", null, force: true).Value!.Lease!.Holder;

        first.Should().StartWith(LeaseValidation.RecoveryHolderPrefix);
        second.Should().StartWith(LeaseValidation.RecoveryHolderPrefix).And.NotBe(first);
        f.Manager.GetLease("/a").Value!.Holder.Should().Be(first, "files already under recovery stay where they are");
    }

    [Fact]
    public async Task RequesterPastTheHardLimit_ItsFileUnderRecoveryMovesToTheRecoveryHolder_TheAttemptGoesOn()
    {
        var f = new LeaseManagerFixture(TestDataNodes.Live("dn-1", "dn-2", "dn-3")); // Recovery commands never answer.
        f.Add("w", "/a");
        (await f.Manager.AddBlockAsync("w", "/a")).IsOk.Should().BeTrue();
        var started = f.Manager.RecoverLease("/a", "ops", force: true).Value!.Lease!;
        started.Holder.Should().Be("ops");
        f.Time.Advance(LeaseManagerFixture.Hard + TimeSpan.FromTicks(1));

        var pass = f.Pass();

        (pass.FilesExpired, pass.RecoveriesStarted, pass.RecoveriesRetried).Should().Be((1, 0, 1), "the attempt was retried on its own timeout, not restarted as a new recovery");
        var moved = f.Manager.GetLease("/a").Value!;
        moved.Holder.Should().StartWith(LeaseValidation.RecoveryHolderPrefix);
        moved.State.Should().Be(LeaseState.Recovering);
        (await f.Manager.RenewLeaseAsync("ops")).Kind.Should().Be(OutcomeKind.NotFound);
    }
}
