using LeaseService.Core.DataNodes;
using LeaseService.Core.Tests.Storage;
using LeaseService.Testing;
using static LeaseService.Core.Tests.RecoveryFixture;

namespace LeaseService.Core.Tests;

/// <summary>DeleteFile: the file, its blocks and any lease on it go, durably, as HDFS delete.</summary>
public sealed class DeleteFileTests
{
    private readonly ControllableStore _store = new();
    private readonly RecoveryFixture _f;

    public DeleteFileTests() => _f = new RecoveryFixture(store: _store);

    [Fact]
    public async Task Delete_ClosedFile_IsGone_AndThePathCanBeCreatedAgain()
    {
        _f.Open("w", "/a");
        Ok(await _f.Manager.RemoveLeaseAsync("w", "/a")).Should().BeTrue();

        var deleted = Ok(await _f.Manager.DeleteFileAsync("/a"));

        deleted.Holder.Should().BeEmpty("it was closed");
        (await _f.Manager.GetFileAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound);
        _f.Manager.GetStatistics().Files.Should().Be(0);
        var again = Ok(await _f.Manager.AddLeaseAsync("w2", "/a", "m"));
        _f.File("/a").Blocks.Should().BeEmpty("a new file, not an append");
        again.Holder.Should().Be("w2");
    }

    [Fact]
    public async Task Delete_OpenFile_RemovesItsLeaseOnIt_FormerHolderSeesNotFound_OtherFilesKeepTheirLease()
    {
        _f.Open("w", "/a");
        _f.Open("w", "/b");
        var block = await _f.AddBlockAsync("w", "/a");
        await _f.WriteAsync(block, 10);

        var deleted = Ok(await _f.Manager.DeleteFileAsync("/a"));

        deleted.Holder.Should().Be("w");
        (await _f.Manager.AddBlockAsync("w", "/a")).Kind.Should().Be(OutcomeKind.NotFound);
        (await _f.Manager.RemoveLeaseAsync("w", "/a")).Kind.Should().Be(OutcomeKind.NotFound);
        (await _f.Manager.GetLeaseAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound);
        (await _f.TryWriteAsync(block, 5)).Should().StartWith("Aborted", "a writer of a deleted file is fenced");
        (await _f.Manager.RenewLeaseAsync("w")).Value.Should().Be(1, "only /b is left");
        Ok(await _f.Manager.DeleteFileAsync("/b"));
        (await _f.Manager.RenewLeaseAsync("w")).Kind.Should().Be(OutcomeKind.NotFound, "a holder with nothing left holds no lease");
    }

    [Fact]
    public async Task Delete_MissingPath_IsNotFound_InvalidPath_IsInvalidArgument()
    {
        (await _f.Manager.DeleteFileAsync("/nope")).Kind.Should().Be(OutcomeKind.NotFound);
        (await _f.Manager.DeleteFileAsync("relative")).Kind.Should().Be(OutcomeKind.InvalidArgument);
        _f.Open("w", "/a");
        Ok(await _f.Manager.DeleteFileAsync("/a"));
        (await _f.Manager.DeleteFileAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound, "deleting twice");
    }

    [Fact]
    public async Task Delete_WhileBlockRecoveryIsInFlight_ItsLateCommitIsStaleAndRecreatesNothing()
    {
        var nodes = TestDataNodes.Live("dn-1", "dn-2", "dn-3");
        var answer = new TaskCompletionSource<BlockRecoveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new TaskCompletionSource<BlockRecoveryCommand>(TaskCreationOptions.RunContinuationsAsynchronously);
        nodes.Recover = command =>
        {
            sent.TrySetResult(command);
            return answer.Task;
        };
        var f = new LeaseManagerFixture(nodes);
        f.Add("w", "/a");
        Ok(await f.Manager.AddBlockAsync("w", "/a"));
        var started = Ok(await f.Manager.RecoverLeaseAsync("/a", null, force: true));
        started.Closed.Should().BeFalse("the last block must be recovered");
        var command = await sent.Task.DefaultTimeout();

        Ok(await f.Manager.DeleteFileAsync("/a"));
        answer.SetResult(new BlockRecoveryCommitted(command.BlockId, command.RecoveryId, 10, ["dn-1"], DeleteBlock: false));
        await f.Manager.WhenRecoveriesIdleAsync().DefaultTimeout();

        (await f.Manager.GetFileAsync("/a")).Kind.Should().Be(OutcomeKind.NotFound, "the recovery's commit is stale");
        var stats = f.Manager.GetStatistics();
        stats.Recovering.Should().Be(0);
        stats.Holders.Should().Be(0, "the recovery holder's lease on it went with the file");
        stats.Files.Should().Be(0);
    }

    [Fact]
    public async Task Delete_OpenFileOfAnotherPrincipalsHolder_IsPermissionDenied_OwnerAndAdminsMayDelete()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));
        Ok(await _f.Manager.AddLeaseAsync("etl", "/b", "m", principal: "alice"));

        var denied = await _f.Manager.DeleteFileAsync("/a", principal: "bob");

        denied.Kind.Should().Be(OutcomeKind.PermissionDenied);
        denied.Message.Should().NotContain("alice", "the owner is not disclosed");
        _f.File("/a").UnderConstruction.Should().BeTrue("a refusal changes nothing");
        Ok(await _f.Manager.DeleteFileAsync("/a", principal: "alice"));
        Ok(await _f.Manager.DeleteFileAsync("/b", principal: null)); // An admin (or no authentication).
    }

    [Fact]
    public async Task Delete_ClosedFile_AnyPrincipalMay()
    {
        Ok(await _f.Manager.AddLeaseAsync("etl", "/a", "m", principal: "alice"));
        Ok(await _f.Manager.RemoveLeaseAsync("etl", "/a", "alice"));

        Ok(await _f.Manager.DeleteFileAsync("/a", principal: "bob")).Holder.Should().BeEmpty();
    }

    [Fact]
    public async Task Delete_AnswersOnlyOnceDurable_AndReadsWaitForIt()
    {
        _f.Open("w", "/a");
        _store.Hold();

        var delete = _f.Manager.DeleteFileAsync("/a").AsTask();
        var get = _f.Manager.GetFileAsync("/a").AsTask();
        delete.IsCompleted.Should().BeFalse();
        get.IsCompleted.Should().BeFalse("a reply must not get ahead of the record");
        _store.Release();

        Ok(await delete.DefaultTimeout());
        (await get.DefaultTimeout()).Kind.Should().Be(OutcomeKind.NotFound);
    }

    [Fact]
    public async Task Delete_FailedWrite_IsUnavailable_AndAfterRestoreTheFileIsStillThere()
    {
        _f.Open("w", "/a");
        _store.FailWith = "disk full";

        var delete = await _f.Manager.DeleteFileAsync("/a");

        delete.Kind.Should().Be(OutcomeKind.Unavailable);
        _store.FailWith = null;
        (await _f.Manager.TryRestoreStorageAsync().DefaultTimeout()).Should().BeTrue();
        Ok(await _f.Manager.GetLeaseAsync("/a")).Holder.Should().Be("w");
    }

    [Fact]
    public async Task Delete_SurvivesARestart()
    {
        var d = new DurableManager();
        await d.LoadAsync();
        Ok(await d.Manager.AddLeaseAsync("w", "/open", "m"));
        Ok(await d.Manager.AddLeaseAsync("w", "/closed", "m"));
        Ok(await d.Manager.RemoveLeaseAsync("w", "/closed"));
        Ok(await d.Manager.DeleteFileAsync("/open"));
        Ok(await d.Manager.DeleteFileAsync("/closed"));

        await d.RestartAsync();

        (await d.Manager.GetFileAsync("/open")).Kind.Should().Be(OutcomeKind.NotFound);
        (await d.Manager.GetFileAsync("/closed")).Kind.Should().Be(OutcomeKind.NotFound);
        d.Manager.GetStatistics().Files.Should().Be(0);
        (await d.Manager.RenewLeaseAsync("w")).Kind.Should().Be(OutcomeKind.NotFound);
    }
}
