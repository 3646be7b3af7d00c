using LeaseService.IntegrationTests.Infrastructure;

namespace LeaseService.IntegrationTests;

/// <summary>The server never starts empty over a store it cannot use: exit code 2, a message naming the path and why.</summary>
public sealed class StoreRefusalTests : IDisposable
{
    private readonly string _directory = ServerProcess.NewDataDirectory();

    public void Dispose() => ServerProcess.DeleteDataDirectory(_directory);

    [OwnProcessFact]
    public async Task PathIsAFile_ExitsWithCode2NamingThePath()
    {
        var path = Path.Combine(_directory, "data");
        await File.WriteAllTextAsync(path, "not a directory");

        var output = await StartExpectingExitAsync(path);

        output.Should().Contain($"Cannot use the lease store: cannot open the store at {path}: it is a file, not a directory");
    }

    [OwnProcessFact]
    public async Task DirectoryCannotBeCreated_ExitsWithCode2NamingThePath()
    {
        // Tests run as root, whom chmod does not stop: a file where a parent directory must be
        // makes a directory that cannot be created or entered by anyone.
        var blocker = Path.Combine(_directory, "blocker");
        await File.WriteAllTextAsync(blocker, "x");
        var path = Path.Combine(blocker, "data");

        var output = await StartExpectingExitAsync(path);

        output.Should().Contain($"cannot open the store at {path}");
    }

    [OwnProcessFact]
    public async Task CorruptStore_ExitsWithCode2NamingThePath()
    {
        await using (var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = _directory }))
        {
            using var client = Client.LeaseClient.Create(server.Address);
            await client.AddLeaseAsync("w", "/a");
            await server.KillAsync();
        }

        foreach (var file in Directory.GetFiles(_directory).Where(f => !Path.GetFileName(f).StartsWith("LOG", StringComparison.Ordinal) && !f.EndsWith("LOCK", StringComparison.Ordinal)))
        {
            await File.WriteAllBytesAsync(file, [.. Enumerable.Repeat((byte)0x5A, 4096)]);
        }

        var output = await StartExpectingExitAsync(_directory);

        output.Should().Contain($"at {_directory}");
    }

    [OwnProcessFact]
    public async Task CurrentFileDeleted_ExitsWithCode2AtEveryStart_NeverServesAnEmptyStore()
    {
        await GrantAndKillAsync();
        File.Delete(Path.Combine(_directory, "CURRENT"));

        // A restart policy starts it again after the exit: that start must not serve an empty store.
        (await StartExpectingExitAsync(_directory)).Should().Contain($"at {_directory}");
        (await StartExpectingExitAsync(_directory)).Should().Contain($"at {_directory}").And.Contain("no CURRENT file");
    }

    [OwnProcessFact]
    public async Task WriteAheadLogDeleted_ExitsWithCode2_NeverServesAnOlderHistory()
    {
        await GrantAndKillAsync(); // SIGKILL: the grant is in the write-ahead log only.
        foreach (var log in Directory.GetFiles(_directory, "*.log"))
        {
            File.Delete(log);
        }

        (await StartExpectingExitAsync(_directory)).Should().Contain($"at {_directory}").And.Contain("WAL");
    }

    private async Task GrantAndKillAsync()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = _directory });
        using var client = Client.LeaseClient.Create(server.Address);
        await client.AddLeaseAsync("w", "/a");
        await server.KillAsync();
    }

    private static async Task<string> StartExpectingExitAsync(string path)
    {
        var start = () => ServerProcess.StartAsync(new Dictionary<string, string> { ["Storage__Path"] = path });

        var failure = (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message;
        failure.Should().Contain("exited with code 2");
        failure.Should().NotContain("   at ", "no stack trace, only the reason");
        return failure;
    }
}
