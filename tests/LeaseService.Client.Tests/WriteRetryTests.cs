using System.Text;
using Grpc.Net.Client;
using LeaseService.Client.Renewal;
using LeaseService.Contracts.V1;
using LeaseService.DataNodes;
using LeaseService.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client.Tests;

/// <summary>
/// A <see cref="LeaseWriter"/> write whose answer is lost after the DataNodes took the bytes, against
/// the real server over HTTP/2: the user's retry must not put the bytes in the file twice.
/// </summary>
public sealed class WriteRetryTests : IAsyncLifetime
{
    private ServerFixture _server = null!;
    private LeaseRenewerFactory _factory = null!;
    private LeaseRenewer _renewer = null!;

    private LeaseClient Client => _server.Client;

    private SimulatedDataNodeCluster Cluster => _server.App.Services.GetRequiredService<SimulatedDataNodeCluster>();

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        _factory = new LeaseRenewerFactory(new LeaseRenewerOptions { TimeProvider = new RenewerTestClock(_server.Time), RetryJitter = 0 });
        _renewer = _factory.GetRenewer(Client, "alice");
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _server.DisposeAsync();
    }

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    private async Task<Contracts.V1.FileInfo> ClosedFileAsync(string path)
    {
        var file = await Client.GetFileAsync(path).DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        return file;
    }

    private void ReplicasShouldHold(Block block, string text)
    {
        foreach (var dataNode in block.Locations)
        {
            Encoding.UTF8.GetString(Cluster.ReadReplica(dataNode, (long)block.BlockId)!).Should().Be(text, dataNode);
        }
    }

    [Fact]
    public async Task Write_AnswerLost_UserRetriesTheSameBytes_TheFileHoldsThemOnce()
    {
        using var link = new LossyLink(_server.Address, lose: 2);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(Text("hello ")).DefaultTimeout();

        // The DataNodes take "world" and the answer is lost: to the user, the outcome is unknown.
        await FluentActions.Awaiting(() => writer.WriteAsync(Text("world"))).Should().ThrowAsync<LeaseUnavailableException>();
        var replicas = await writer.WriteAsync(Text("world")).DefaultTimeout(); // What a user does.

        replicas.Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 11 && r.State == ReplicaState.Rbw, "the answer the lost one would have been");
        await writer.WriteAsync(Text("!")).DefaultTimeout();
        await writer.CloseAsync().DefaultTimeout();

        link.Handler.Calls.Should().BeGreaterThanOrEqualTo(4);
        (await ClosedFileAsync("/logs/a")).Length.Should().Be(12);
        ReplicasShouldHold(writer.CurrentBlock!, "hello world!");
    }

    [Fact]
    public async Task Write_RetryWhileTheOriginalStillGoesDownThePipeline_Unavailable_NothingWritten_NextRetryIsConfirmed()
    {
        using var handler = new HeldAnswerHandler("/WriteBlock", lose: 2);
        using var channel = GrpcChannel.ForAddress(_server.Address, new GrpcChannelOptions { HttpHandler = handler });
        await using var writer = await LeaseWriter.OpenAsync(new LeaseClient(channel), _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(Text("hello ")).DefaultTimeout();
        var second = writer.CurrentBlock!.Locations[1];
        var held = Cluster.HangDataNodeWrites(second);
        var original = writer.WriteAsync(Text("world"));
        await held.DefaultTimeout(); // The first DataNode has "world"; the second is about to take it.
        handler.Fail();
        await FluentActions.Awaiting(() => original).Should().ThrowAsync<LeaseUnavailableException>(); // To the user, the outcome is unknown.

        var refused = await FluentActions.Awaiting(() => writer.WriteAsync(Text("world")).DefaultTimeout()).Should().ThrowAsync<LeaseUnavailableException>();

        refused.Which.Status.Detail.Should().Contain("another write to the block is in progress");
        Cluster.ReleaseDataNode(second);
        await handler.ServerAnswered.DefaultTimeout();
        var replicas = await writer.WriteAsync(Text("world")).DefaultTimeout();
        replicas.Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 11, "the original landed: the retry is confirmed");
        await writer.CloseAsync().DefaultTimeout();
        (await ClosedFileAsync("/logs/a")).Length.Should().Be(11);
        ReplicasShouldHold(writer.CurrentBlock!, "hello world");
    }

    [Fact]
    public async Task Write_FirstWriteOfABlockAnswerLost_RetryIsConfirmed_NextBlockStartsAtZero()
    {
        using var link = new LossyLink(_server.Address, lose: 1);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();

        await FluentActions.Awaiting(() => writer.WriteAsync(Text("abc"))).Should().ThrowAsync<LeaseUnavailableException>();
        await writer.WriteAsync(Text("abc")).DefaultTimeout();
        await writer.WriteAsync(Text("de"), endBlock: true).DefaultTimeout();
        var first = writer.CurrentBlock!;
        await writer.WriteAsync(Text("fg")).DefaultTimeout(); // A new block: its bytes start at 0.
        await writer.CloseAsync().DefaultTimeout();

        (await ClosedFileAsync("/logs/a")).Length.Should().Be(7);
        ReplicasShouldHold(first, "abcde");
        ReplicasShouldHold(writer.CurrentBlock!, "fg");
    }

    [Fact]
    public async Task Write_AnswerLost_OtherBytesWrittenInstead_ConflictNamingTheEarlierWrite_NothingWritten()
    {
        using var link = new LossyLink(_server.Address, lose: 1);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await FluentActions.Awaiting(() => writer.WriteAsync(Text("abc"))).Should().ThrowAsync<LeaseUnavailableException>();

        var refused = await FluentActions.Awaiting(() => writer.WriteAsync(Text("xyz"))).Should().ThrowAsync<LeaseConflictException>();

        refused.Which.Status.Detail.Should().Contain("holds 3 bytes").And.Contain("starts at byte 0")
            .And.Contain("An earlier write of 3 bytes at byte 0").And.Contain("retry it with the same bytes");
        ReplicasShouldHold(writer.CurrentBlock!, "abc");

        await writer.WriteAsync(Text("abc")).DefaultTimeout(); // The retry is still recognised.
        await writer.WriteAsync(Text("xyz")).DefaultTimeout();
        await writer.CloseAsync().DefaultTimeout();
        (await ClosedFileAsync("/logs/a")).Length.Should().Be(6);
        ReplicasShouldHold(writer.CurrentBlock!, "abcxyz");
    }

    [Fact]
    public async Task Write_EndBlockAnswerLost_RetryIsConfirmed_TheWriterGoesOnIntoANewBlock()
    {
        using var link = new LossyLink(_server.Address, lose: 2);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(Text("abc")).DefaultTimeout();
        await FluentActions.Awaiting(() => writer.WriteAsync(Text("de"), endBlock: true)).Should().ThrowAsync<LeaseUnavailableException>();

        var replicas = await writer.WriteAsync(Text("de"), endBlock: true).DefaultTimeout(); // What a user does.

        replicas.Should().HaveCount(3).And.OnlyContain(r => r.NumBytes == 5 && r.State == ReplicaState.Finalized, "the answer the lost one would have been");
        var first = writer.CurrentBlock!;
        await writer.WriteAsync(Text("fg")).DefaultTimeout();
        writer.CurrentBlock!.BlockId.Should().NotBe(first.BlockId, "the confirmed write ended its block");
        await writer.CloseAsync().DefaultTimeout();

        (await ClosedFileAsync("/logs/a")).Length.Should().Be(7);
        ReplicasShouldHold(first, "abcde");
        ReplicasShouldHold(writer.CurrentBlock!, "fg");
    }

    [Fact]
    public async Task Write_EndBlockAnswerLost_NotRetried_CloseStillClosesWithTheBytesOnce()
    {
        using var link = new LossyLink(_server.Address, lose: 2);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(Text("abc")).DefaultTimeout();
        await FluentActions.Awaiting(() => writer.WriteAsync(Text("de"), endBlock: true)).Should().ThrowAsync<LeaseUnavailableException>();

        await writer.CloseAsync().DefaultTimeout();

        (await ClosedFileAsync("/logs/a")).Length.Should().Be(5);
        ReplicasShouldHold(writer.CurrentBlock!, "abcde");
    }

    [Fact]
    public async Task Write_AnswerLost_NotRetried_CloseFinalizesWhatLanded()
    {
        using var link = new LossyLink(_server.Address, lose: 2);
        await using var writer = await LeaseWriter.OpenAsync(link.Client, _renewer, "client-1", "/logs/a").DefaultTimeout();
        await writer.WriteAsync(Text("abc")).DefaultTimeout();
        await FluentActions.Awaiting(() => writer.WriteAsync(Text("def"))).Should().ThrowAsync<LeaseUnavailableException>();

        await writer.CloseAsync().DefaultTimeout(); // The close's write adds no bytes and names no offset.

        (await ClosedFileAsync("/logs/a")).Length.Should().Be(6, "the write's outcome was unknown; it had landed");
    }

    [Fact]
    public async Task Write_ThroughAnIBlockWriterWithoutOffsets_StillWorks_AndSendsNone()
    {
        var plain = new PlainBlockWriter(new SimulatorBlockWriter(Client));
        await using var writer = await LeaseWriter.OpenAsync(Client, _renewer, "client-1", "/logs/a", new LeaseWriterOptions { BlockWriter = plain }).DefaultTimeout();

        await writer.WriteAsync(Text("abc")).DefaultTimeout();
        await writer.WriteAsync(Text("de"), endBlock: true).DefaultTimeout();
        await writer.CloseAsync().DefaultTimeout();

        plain.Writes.Should().Be(2);
        (await ClosedFileAsync("/logs/a")).Length.Should().Be(5);
    }

    /// <summary>An implementation written before offsets existed: it only knows <see cref="IBlockWriter.WriteAsync"/>.</summary>
    private sealed class PlainBlockWriter(IBlockWriter inner) : IBlockWriter
    {
        public int Writes { get; private set; }

        public Task<IReadOnlyList<ReplicaInfo>> WriteAsync(Block block, ulong epoch, ReadOnlyMemory<byte> data, bool finalize, CancellationToken cancellationToken)
        {
            Writes++;
            return inner.WriteAsync(block, epoch, data, finalize, cancellationToken);
        }
    }
}
