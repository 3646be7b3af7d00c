using LeaseService.Cli.Internal;
using System.Diagnostics;
using System.Text.Json;
using LeaseService.Contracts.V1;
using LeaseService.Testing;

namespace LeaseService.Cli.Tests;

/// <summary>ls/get/file (tables and --json), add/renew/release, server resolution and exit codes, against the real server.</summary>
public sealed class ReadAndScriptCommandTests : IAsyncLifetime
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
    public async Task Ls_Table_ShowsPathHolderMachineStateEpochAndRemainingLimits_FilteredByHolderAndPrefix()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a", "host-a").DefaultTimeout();
        await _server.Client.AddLeaseAsync("writer-2", "/logs/b").DefaultTimeout();
        await _server.Client.AddLeaseAsync("writer-1", "/tmp/c").DefaultTimeout();
        _server.Time.Advance(TimeSpan.FromSeconds(2.5));

        var all = await _cli.RunAsync("ls");
        var byHolder = await _cli.RunAsync("ls", "--holder", "writer-1");
        var byPrefix = await _cli.RunAsync("ls", "--prefix", "/logs/");

        all.ExitCode.Should().Be(0, all.ToString());
        var lines = all.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].Should().MatchRegex(@"^PATH\s+HOLDER\s+MACHINE\s+STATE\s+EPOCH\s+SOFT\s+HARD$");
        lines[1].Should().MatchRegex(@"^/logs/a\s+writer-1\s+host-a\s+ACTIVE\s+\d+\s+7\.5s\s+27\.5s$");
        lines[2].Should().MatchRegex(@"^/logs/b\s+writer-2\s+-\s+ACTIVE");
        lines.Should().HaveCount(4);
        byHolder.Out.Should().Contain("/logs/a").And.Contain("/tmp/c").And.NotContain("/logs/b");
        byPrefix.Out.Should().Contain("/logs/a").And.Contain("/logs/b").And.NotContain("/tmp/c");
    }

    [Fact]
    public async Task Ls_Json_IsAnArrayOfLeases()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a", "host-a").DefaultTimeout();

        var result = await _cli.RunAsync("ls", "--json");

        result.ExitCode.Should().Be(0);
        using var json = JsonDocument.Parse(result.Out);
        var lease = json.RootElement.EnumerateArray().Single();
        lease.GetProperty("path").GetString().Should().Be("/logs/a");
        lease.GetProperty("holder").GetString().Should().Be("writer-1");
        lease.GetProperty("state").GetString().Should().Be("LEASE_STATE_ACTIVE");
        lease.GetProperty("softLimitRemaining").GetString().Should().Be("10s");
    }

    [Fact]
    public async Task PathWithControlCharacters_EscapedInTextOutput_ExactInJson()
    {
        // Paths may hold any character but NUL. Printed as they were, this one split its row of
        // the ls table in two and sent ESC [2J (clear screen) to the operator's terminal.
        const string path = "/logs/a\nb\u001b[2J";
        const string shown = @"/logs/a\nb\u001b[2J";
        await _server.Client.AddLeaseAsync("writer-1", path).DefaultTimeout();

        var ls = await _cli.RunAsync("ls");
        var get = await _cli.RunAsync("get", path);
        var file = await _cli.RunAsync("file", path);
        var add = await _cli.RunAsync("add", path, "--holder", "writer-1");
        var json = await _cli.RunAsync("ls", "--json");

        ls.ExitCode.Should().Be(0, ls.ToString());
        ls.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(2, "a header and one row").And.Subject.Last().Should().StartWith(shown + "  writer-1");
        get.Out.Should().StartWith($"path:            {shown}\n");
        file.Out.Should().StartWith($"path:                {shown}\n");
        add.Out.Should().StartWith($"writer-1 holds {shown} (epoch ");
        string.Concat(ls.Out, get.Out, file.Out, add.Out).Should().NotContain("\u001b");
        JsonDocument.Parse(json.Out).RootElement[0].GetProperty("path").GetString().Should().Be(path, "JSON carries the path exactly");
    }

    [Fact]
    public async Task Get_ShowsTheLease_AsTextOrJson_NotFoundExit1()
    {
        var granted = await _server.Client.AddLeaseAsync("writer-1", "/logs/a", "host-a").DefaultTimeout();

        var text = await _cli.RunAsync("get", "/logs/a");
        var json = await _cli.RunAsync("get", "/logs/a", "--json");
        var missing = await _cli.RunAsync("get", "/logs/nope");

        text.ExitCode.Should().Be(0);
        text.Out.Should().Contain("holder:          writer-1").And.Contain("state:           ACTIVE").And.Contain($"epoch:           {granted.Epoch}");
        JsonDocument.Parse(json.Out).RootElement.GetProperty("holder").GetString().Should().Be("writer-1");
        missing.ExitCode.Should().Be(1);
        missing.Out.Should().BeEmpty();
        missing.Error.Should().StartWith("lease get: ").And.Contain("(NOT_FOUND)");
    }

    [Fact]
    public async Task Rm_DeletesOpenOrClosedFiles_NamesTheFormerHolder_MissingExit1()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/open").DefaultTimeout();
        await _server.Client.AddLeaseAsync("writer-1", "/logs/closed").DefaultTimeout();
        (await _server.Client.RemoveLeaseAsync("writer-1", "/logs/closed").DefaultTimeout()).Should().BeTrue();

        var open = await _cli.RunAsync("rm", "/logs/open");
        var closed = await _cli.RunAsync("rm", "/logs/closed");
        var missing = await _cli.RunAsync("rm", "/logs/open");
        var usage = await _cli.RunAsync("rm");

        open.ExitCode.Should().Be(0, open.ToString());
        open.Out.Trim().Should().Be("Deleted /logs/open (it was open for write by writer-1; that lease on it is gone)");
        closed.ExitCode.Should().Be(0, closed.ToString());
        closed.Out.Trim().Should().Be("Deleted /logs/closed");
        missing.ExitCode.Should().Be(1);
        missing.Error.Should().StartWith("lease rm: ").And.Contain("(NOT_FOUND)");
        usage.ExitCode.Should().Be(2);
        await Assert.ThrowsAsync<LeaseService.Client.LeaseNotFoundException>(() => _server.Client.GetFileAsync("/logs/closed"));
    }

    [Fact]
    public async Task File_ShowsBlocksAndReplicas()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();
        var block = await _server.Client.AddBlockAsync("writer-1", "/logs/a").DefaultTimeout();
        await _server.Client.CallAsync(o => _server.Client.Simulator.WriteBlockAsync(new WriteBlockRequest
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = block.Epoch,
            Data = Google.Protobuf.ByteString.CopyFromUtf8("hello"),
            Finalize = true,
        }, o)).DefaultTimeout();

        var text = await _cli.RunAsync("file", "/logs/a");
        var json = await _cli.RunAsync("file", "/logs/a", "--json");

        text.ExitCode.Should().Be(0, text.ToString());
        text.Out.Should().Contain("under construction:  yes").And.Contain("holder:              writer-1");
        text.Out.Should().MatchRegex($@"(?m)^{block.Block.BlockId}\s+{block.Block.GenerationStamp}\s+\d+\s+UNDER_CONSTRUCTION\s+\S+");
        text.Out.Should().MatchRegex($@"(?m)^{block.Block.BlockId}\s+\S+\s+FINALIZED\s+5\s+{block.Block.GenerationStamp}$");
        using var doc = JsonDocument.Parse(json.Out);
        doc.RootElement.GetProperty("file").GetProperty("blocks").GetArrayLength().Should().Be(1);
        doc.RootElement.GetProperty("replicas").GetArrayLength().Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task AddRenewRelease_ForScripts()
    {
        var add = await _cli.RunAsync("add", "/logs/a", "--holder", "script-1", "--machine", "box");
        add.ExitCode.Should().Be(0, add.ToString());
        add.Out.Should().StartWith("script-1 holds /logs/a (epoch ");
        (await _cli.RunAsync("add", "/logs/a", "--holder", "script-2")).ExitCode.Should().Be(1, "held by another");

        var renew = await _cli.RunAsync("renew", "--holder", "script-1");
        renew.ExitCode.Should().Be(0);
        renew.Out.Should().Be("renewed 1 lease(s) of script-1 (soft limit 10s, hard limit 30s)\n");

        var release = await _cli.RunAsync("release", "/logs/a", "--holder", "script-1");
        release.ExitCode.Should().Be(0, release.ToString());
        release.Out.Should().Be("released /logs/a\n");

        var gone = await _cli.RunAsync("renew", "--holder", "script-1");
        gone.ExitCode.Should().Be(1);
        gone.Error.Should().Contain("(NOT_FOUND)");
    }

    [Fact]
    public async Task Add_InvalidPath_UsageError_Exit2()
    {
        var result = await _cli.RunAsync("add", "relative/path", "--holder", "h");

        result.ExitCode.Should().Be(2);
        result.Error.Should().StartWith("lease add: invalid request: ");
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:5050")]
    [InlineData("dns:///127.0.0.1:5050")]
    public async Task Server_WithASchemeGrpcCannotDial_UsageError_Exit2(string server)
    {
        var result = await _cli.RunRawAsync("ls", "--server", server);

        result.ExitCode.Should().Be(2, result.Error);
        result.Error.Should().StartWith($"lease ls: bad server address '{server}': ");
    }

    [Fact]
    public async Task Token_ToACleartextAddressBeyondLoopback_UsageError_SaysWhy()
    {
        // Was "...; http://10.1.2.3:5050 is neither. (Parameter 'address')".
        var result = await _cli.RunRawAsync("ls", "--token", "abc", "--server", "http://10.1.2.3:5050");

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Be("lease ls: bad server address 'http://10.1.2.3:5050': A bearer token is sent only over TLS (https://) or to a loopback address; http://10.1.2.3:5050 is neither.\n");
    }

    [Fact]
    public async Task Server_FromEnvironment_WhenNoOption()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();
        _cli.Environment["LEASE_SERVER"] = _server.Address.Replace("http://", string.Empty, StringComparison.Ordinal);

        var result = await _cli.RunRawAsync("ls");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("/logs/a");
    }

    [Fact]
    public void Server_NeitherOptionNorVariable_DefaultsToTheServersDefaultAddress()
    {
        CliContext.ResolveServer(null, _ => null).Should().Be("http://localhost:5050", "the server listens there by default");
        CliContext.ResolveServer(" ", _ => "http://h:1").Should().Be("http://h:1");
        CliContext.ResolveServer("http://o:2", _ => "http://h:1").Should().Be("http://o:2");
    }

    [Fact]
    public async Task Server_SeveralReplicas_CommaSeparated_SchemeOptional_TheReachableOneServes()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();

        // Nothing listens on port 1: that replica is skipped (connection refused), the next serves.
        var result = await _cli.RunRawAsync("ls", "--server", "127.0.0.1:1, " + _server.Address.Replace("http://", string.Empty, StringComparison.Ordinal));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("/logs/a");
        CliContext.WithScheme("a:1, https://b:2,").Should().Be("http://a:1,https://b:2");
    }

    [Fact]
    public async Task Server_Unreachable_Exit3()
    {
        var result = await _cli.RunRawAsync("get", "/logs/a", "--server", "http://127.0.0.1:1");

        result.ExitCode.Should().Be(3);
        result.Error.Should().StartWith("lease get: cannot reach the server at http://127.0.0.1:1: ");
    }

    [Theory]
    [InlineData("ls")]
    [InlineData("add", "/logs/a", "--holder", "h")]
    public async Task Server_AcceptsButNeverAnswers_NoAnswerWithinTheTimeout_Exit3(params string[] command)
    {
        // Was "lease ls:  (DEADLINE_EXCEEDED)", exit 1, after a fixed 30 s: the status of
        // Grpc.Net.Client's own deadline has no detail.
        await using var silent = new SilentServer();

        var result = await _cli.RunRawAsync([.. command, "--timeout", "300ms", "--server", silent.Address]);

        result.ExitCode.Should().Be(3, result.ToString());
        result.Out.Should().BeEmpty();
        result.Error.Should().Be($"lease {command[0]}: no answer from the server at {silent.Address} within 0.3s (DEADLINE_EXCEEDED)\n");
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("soon")]
    [InlineData("2d")]
    public async Task Timeout_NotAPositiveDurationUpToADay_UsageError_Exit2(string value)
    {
        var result = await _cli.RunAsync("ls", "--timeout", value);

        result.ExitCode.Should().Be(2, result.ToString());
        result.Error.Should().Contain("--timeout").And.Contain("lease --help");
    }

    [Fact]
    public async Task Timeout_GivenOnAnyCommand_CallsStillSucceed()
    {
        await _server.Client.AddLeaseAsync("writer-1", "/logs/a").DefaultTimeout();

        var result = await _cli.RunAsync("--timeout", "10s", "get", "/logs/a");

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("writer-1");
    }

    [Fact]
    public async Task UnknownCommandOrNoCommand_UsageError_Exit2_HelpExit0()
    {
        (await _cli.RunRawAsync("frobnicate")).ExitCode.Should().Be(2);
        (await _cli.RunRawAsync()).ExitCode.Should().Be(2);
        var help = await _cli.RunRawAsync("--help");
        help.ExitCode.Should().Be(0);
        help.Out.Should().Contain("recover <path>").And.Contain("--server");
    }

    [Fact]
    public async Task BuiltExecutable_Help_Exit0()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "lease.dll");
        File.Exists(dll).Should().BeTrue();
        using var process = Process.Start(new ProcessStartInfo("dotnet", [dll, "--help"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().DefaultTimeout();

        process.ExitCode.Should().Be(0);
        (await output).Should().Contain("Usage:").And.Contain("lease [command] [options]");
    }
}
