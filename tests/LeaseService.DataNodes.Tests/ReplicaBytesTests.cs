using LeaseService.Core.DataNodes;
using LeaseService.DataNodes.Internal.Nodes;

namespace LeaseService.DataNodes.Tests;

/// <summary>A replica's bytes: appends grow them in place; a view taken earlier keeps its bytes.</summary>
public sealed class ReplicaBytesTests
{
    [Fact]
    public void Append_ManySmallWrites_CopiesTheBlockAFewTimes_NotOncePerWrite()
    {
        var replica = new Replica(1, ReplicaState.Rbw, 1001, []);
        var packet = new byte[1024];
        replica.Append(packet); // Warm-up: nothing below depends on first-call allocations.

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 1; i < 512; i++)
        {
            replica.Append(packet);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        replica.NumBytes.Should().Be(512 * 1024);
        allocated.Should().BeLessThan(4L << 20, "a buffer that doubles copies about twice the block (1 MiB here), where a copy per append is about 128 MiB");
    }

    [Fact]
    public void Data_TakenBeforeAppendsAndATruncation_StillHoldsItsBytes()
    {
        var replica = new Replica(1, ReplicaState.Rbw, 1001, [1, 2, 3]);
        replica.Append([4, 5]);
        var image = replica.Data;

        replica.Append([6, 7, 8, 9, 10, 11]);
        replica.Truncate(2);
        replica.Append([42, 42, 42]);

        image.ToArray().Should().Equal(1, 2, 3, 4, 5);
        replica.Data.ToArray().Should().Equal(1, 2, 42, 42, 42);
        replica.NumBytes.Should().Be(5);
    }
}
