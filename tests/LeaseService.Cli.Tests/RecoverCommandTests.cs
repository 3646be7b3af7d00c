using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Cli.Tests;

/// <summary><c>lease recover</c> against the real server: hdfs debug recoverLease's messages and exit codes.</summary>
public sealed class RecoverCommandTests : IAsyncLifetime
{
    private ServerFixture _server = null!;
    private CliHarness _cli = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        _cli = new CliHarness(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Recover_LeasePastSoftLimit_SucceedsAtOnce()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();
        _server.Time.Advance(ServerFixture.Soft + TimeSpan.FromSeconds(1));

        var result = await _cli.RunAsync("recover", "/logs/a");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be("recoverLease SUCCEEDED on /logs/a\n");
        result.Error.Should().BeEmpty();
        (await _server.Client.GetFileAsync("/logs/a").DefaultTimeout()).UnderConstruction.Should().BeFalse();
    }

    [Fact]
    public async Task Recover_Force_RecoversALiveLease()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();

        var result = await _cli.RunAsync("recover", "/logs/a", "--force", "--requester", "operator");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be("recoverLease SUCCEEDED on /logs/a\n");
    }

    [Fact]
    public async Task Recover_NotFound_GivesUpAtOnce_IgnoringRetries()
    {
        var result = await _cli.RunAsync("recover", "/missing", "--retries", "5");

        result.ExitCode.Should().Be(1);
        result.Out.Should().BeEmpty();
        result.Error.Should().StartWith("recoverLease got exception: ")
            .And.EndWith("Giving up on recoverLease for /missing after 1 try.\n");
        _cli.Delays.Should().BeEmpty();
    }

    [Fact]
    public async Task Recover_LiveLeaseWithoutForce_RetriesEveryIntervalThenGivesUp()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();
        await _server.Client.RenewLeaseAsync("writer-1").DefaultTimeout();

        var result = await _cli.RunAsync("recover", "/logs/a", "--retries", "3", "--retry-interval", "2s");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().BeEmpty();
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().Contain(l => l.StartsWith("recoverLease got exception: ", StringComparison.Ordinal));
        lines.Should().Contain("  (the holder's soft limit has not expired; --force recovers it anyway)");
        lines.Where(l => l == "Retrying in 2000 ms...").Should().HaveCount(2);
        lines.Should().Contain("Retry #1").And.Contain("Retry #2").And.NotContain("Retry #3");
        lines.Should().Contain("..", "a dot a second while waiting");
        lines[^1].Should().Be("Giving up on recoverLease for /logs/a after 3 tries.");
        _cli.Delays.Sum(d => d.TotalSeconds).Should().Be(4);
    }

    [Fact]
    public async Task Recover_HolderStopsRenewing_SucceedsOnALaterTry()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();

        var result = await _cli.RunAsync("recover", "/logs/a", "--retries", "5", "--retry-interval", "5s");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be("recoverLease SUCCEEDED on /logs/a\n");
        result.Error.Should().Contain("Retry #2").And.NotContain("Giving up");
    }

    [Fact]
    public async Task Recover_OpenBlock_ReturnsFalseWhileBlockRecoveryRuns_ThenSucceeds()
    {
        var lease = await OpenBlockAsync("/logs/a");

        var result = await _cli.RunAsync("recover", "/logs/a", "--force", "--retries", "10", "--retry-interval", "2s");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Be("recoverLease SUCCEEDED on /logs/a\n");
        result.Error.Should().StartWith("recoverLease returned false.\n  /logs/a: RECOVERING, holder ", result.ToString())
            .And.Contain("Retrying in 2000 ms...").And.Contain("Retry #1");
        var file = await _server.Client.GetFileAsync("/logs/a").DefaultTimeout();
        file.UnderConstruction.Should().BeFalse();
        file.Epoch.Should().BeGreaterThan(lease.Epoch);
    }

    [Fact]
    public async Task Recover_ReturnsFalseOnEveryTry_GivesUpWithTheTryCount_Exit1()
    {
        await OpenBlockAsync("/logs/a");

        var result = await _cli.RunAsync("recover", "/logs/a", "--force");

        result.ExitCode.Should().Be(1, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().StartWith("recoverLease returned false.\n")
            .And.EndWith("Giving up on recoverLease for /logs/a after 1 try.\n");
        _cli.Delays.Should().BeEmpty();
    }

    [Fact]
    public async Task Recover_CancelledWhileWaitingToRetry_SaysSoOnALineOfItsOwn()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout(); // Live: every try is refused.
        using var cancel = new CancellationTokenSource();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var waits = 0;

        var exit = await LeaseCli.RunAsync(
            ["recover", "/logs/a", "--retries", "2", "--retry-interval", "5s", "--server", _server.Address],
            stdout,
            stderr,
            delay: async (_, ct) =>
            {
                if (++waits == 3)
                {
                    await cancel.CancelAsync(); // Ctrl+C two dots into the wait.
                }

                ct.ThrowIfCancellationRequested();
            },
            cancellationToken: cancel.Token).DefaultTimeout();

        exit.Should().Be(1, stderr.ToString());
        stderr.ToString().Should().EndWith("Retrying in 5000 ms...\n..\nlease recover: cancelled.\n");
    }

    [Fact]
    public async Task Recover_ServerUnreachable_GivesUp_Exit3()
    {
        var result = await _cli.RunRawAsync("recover", "/logs/a", "--retries", "2", "--retry-interval", "1s", "--server", "http://127.0.0.1:1");

        result.ExitCode.Should().Be(3, result.ToString());
        result.Error.Should().Contain("recoverLease got exception: ").And.Contain("Retry #1")
            .And.EndWith("Giving up on recoverLease for /logs/a after 2 tries.\n");
    }

    [Fact]
    public async Task Recover_ServerNeverAnswers_SaysSoOnEachTry_GivesUp_Exit3()
    {
        await using var silent = new SilentServer();

        var result = await _cli.RunRawAsync("recover", "/logs/a", "--retries", "2", "--retry-interval", "1s", "--timeout", "300ms", "--server", silent.Address);

        result.ExitCode.Should().Be(3, result.ToString());
        result.Error.Should().Be(
            "recoverLease got exception: no answer from the server within 0.3s (DEADLINE_EXCEEDED)\n"
            + "Retrying in 1000 ms...\n.\nRetry #1\n"
            + "recoverLease got exception: no answer from the server within 0.3s (DEADLINE_EXCEEDED)\n"
            + "Giving up on recoverLease for /logs/a after 2 tries.\n");
    }

    [Theory]
    [InlineData("0", "--retries")]
    [InlineData("many", "--retries")]
    [InlineData("soon", "--retry-interval")]
    [InlineData("1e300s", "--retry-interval")]
    [InlineData("99999999999999h", "--retry-interval")]
    public async Task Recover_BadArgument_UsageError_Exit2(string value, string option)
    {
        var result = await _cli.RunAsync("recover", "/logs/a", option, value);

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain(option).And.Contain("lease --help");
    }

    [Fact]
    public async Task Recover_MissingPath_UsageError_Exit2()
    {
        var result = await _cli.RunAsync("recover");

        result.ExitCode.Should().Be(2);
        result.Error.Should().Contain("lease: ");
    }

    /// <summary>A file with a written but unfinalized last block: recovering it needs a block recovery.</summary>
    private async Task<LeaseInfo> OpenBlockAsync(string path)
    {
        var lease = await _server.Client.AddLeaseAsync("writer-1", path).DefaultTimeout();
        var block = await _server.Client.AddBlockAsync("writer-1", path).DefaultTimeout();
        await _server.Client.CallAsync(o => _server.Client.Simulator.WriteBlockAsync(new WriteBlockRequest
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = block.Epoch,
            Data = Google.Protobuf.ByteString.CopyFromUtf8("abc"),
        }, o)).DefaultTimeout();
        return lease;
    }
}
