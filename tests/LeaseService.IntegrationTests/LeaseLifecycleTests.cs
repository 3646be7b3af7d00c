using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>A writer's whole life with a lease, over the network, nothing but gRPC.</summary>
public sealed class LeaseLifecycleTests(SharedServer server, ITestOutputHelper output) : SharedServerTests(server, output)
{
    [Fact]
    public async Task Lifecycle_GrantRenewWriteClose_ThenLeaseAndHolderAreGone()
    {
        var holder = ServerTarget.Unique("writer");
        var other = ServerTarget.Unique("other");
        var path = $"/it/{holder}/log";

        var lease = await Client.AddLeaseAsync(holder, path, "it-host").DefaultTimeout();
        lease.Holder.Should().Be(holder);
        lease.State.Should().Be(LeaseState.Active);
        lease.Epoch.Should().BeGreaterThan(0);
        (await Client.AddLeaseAsync(holder, path, "it-host").DefaultTimeout()).Epoch.Should().Be(lease.Epoch, "the same holder again is idempotent");
        var conflict = await FluentActions.Awaiting(() => Client.AddLeaseAsync(other, path)).Should().ThrowAsync<LeaseConflictException>();
        conflict.Which.Status.Detail.Should().Contain(holder).And.Contain("it-host");

        var renewed = await Client.RenewLeaseAsync(holder).DefaultTimeout();
        renewed.LeasesRenewed.Should().Be(1);
        renewed.SoftLimit.ToTimeSpan().Should().Be(Server.SoftLimit);
        var got = await Client.GetLeaseAsync(path).DefaultTimeout();
        got.State.Should().Be(LeaseState.Active);
        got.SoftLimitRemaining.ToTimeSpan().Should().BePositive().And.BeLessThanOrEqualTo(Server.SoftLimit);
        (await Client.ListLeasesAsync(holder: holder).DefaultTimeout()).Leases.Select(l => l.Path).Should().Equal(path);

        var block = await Client.AddBlockAsync(holder, path).DefaultTimeout();
        block.Block.Locations.Should().HaveCount(3);
        await WriteAsync(block, 64, finalize: true);
        (await Client.RemoveLeaseAsync(holder, path).DefaultTimeout()).Should().BeTrue();

        await FluentActions.Awaiting(() => Client.GetLeaseAsync(path)).Should().ThrowAsync<LeaseNotFoundException>();
        await FluentActions.Awaiting(() => Client.RenewLeaseAsync(holder)).Should().ThrowAsync<LeaseNotFoundException>("the holder has no lease left");
        var file = await Client.GetFileAsync(path).DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Length.Should().Be(64);
        file.Blocks.Should().ContainSingle().Which.State.Should().Be(BlockState.Complete);
        (await Client.AddLeaseAsync(other, path).DefaultTimeout()).Epoch.Should().BeGreaterThan(lease.Epoch, "a closed file reopens for append with a new epoch");
        (await Client.RemoveLeaseAsync(other, path).DefaultTimeout()).Should().BeTrue();
    }
}
