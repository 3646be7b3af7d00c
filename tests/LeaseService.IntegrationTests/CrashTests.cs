using System.Collections.Concurrent;
using System.Diagnostics;
using LeaseService.Client;
using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;

namespace LeaseService.IntegrationTests;

/// <summary>
/// Concurrent writers against a real server process killed (SIGKILL) at random moments, restarted
/// on the same data directory each time. After every restart: every acknowledged operation is
/// there, no path has two holders, no epoch or block id was issued twice, and every operation in
/// flight at the kill is either fully there or fully absent. <c>LEASE_CRASH_KILLS</c> sets the
/// number of kills (default 20; <c>benchmarks/crash/run.sh</c> runs 100).
/// </summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Writers = 8;
    private const int MaxOperationsPerWriter = 40;
    private readonly string _directory = ServerProcess.NewDataDirectory();

    // What the clients were told, across every run.
    private readonly ConcurrentDictionary<string, (string Holder, ulong Epoch)> _open = new();
    private readonly ConcurrentDictionary<string, ulong> _closed = new();
    private readonly ConcurrentDictionary<string, (ulong BlockId, ulong Stamp)> _blocks = new();
    private readonly ConcurrentDictionary<ulong, string> _epochs = new();
    private readonly ConcurrentDictionary<ulong, string> _blockIds = new();

    // Operations whose answer never came (the kill interrupted them).
    private readonly ConcurrentBag<(string Op, string Path, string Holder)> _inFlight = [];

    // Acknowledged in the current run: checked one by one at the next restart (and all at the end).
    private readonly ConcurrentBag<string> _recent = [];

    private int _acknowledged;
    private int _uncertain;
    private int _uncertainPresent;

    public void Dispose() => ServerProcess.DeleteDataDirectory(_directory);

    [OwnProcessFact]
    public async Task RandomKills_EveryAcknowledgedOperationSurvives_NothingHalfApplied()
    {
        var kills = int.TryParse(System.Environment.GetEnvironmentVariable("LEASE_CRASH_KILLS"), out var k) ? k : 20;
        var random = new Random(Seed());
        // Workstation GC: the process starts in about half the time (as the container's probe does).
        var environment = new Dictionary<string, string> { ["Storage__Path"] = _directory, ["DOTNET_gcServer"] = "0" };
        var stopwatch = Stopwatch.StartNew();
        for (var round = 0; round < kills; round++)
        {
            await using var server = await ServerProcess.StartAsync(environment);
            using var client = LeaseClient.Create(server.Address);
            var maxEpoch = _epochs.IsEmpty ? 0 : _epochs.Keys.Max();
            var maxBlockId = _blockIds.IsEmpty ? 0 : _blockIds.Keys.Max();
            try
            {
                await VerifyAsync(client, everything: false);
            }
            catch
            {
                output.WriteLine(server.Output);
                throw;
            }

            _inFlight.Clear();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(client, $"w{round}-{w}", maxEpoch, maxBlockId))).ToArray();
            await Task.Delay(random.Next(10, 120)); // A random moment in the middle of the writes.
            await server.KillAsync();
            await Task.WhenAll(writers).DefaultTimeout(); // Each writer stops at its first call without an answer.
        }

        await using (var last = await ServerProcess.StartAsync(environment))
        {
            using var client = LeaseClient.Create(last.Address);
            await VerifyAsync(client, everything: true);
        }

        var summary = $"kills={kills} acknowledged={_acknowledged} in-flight-at-kill={_uncertain} (present after restart: {_uncertainPresent}) epochs={_epochs.Count} blocks={_blockIds.Count} elapsed={stopwatch.Elapsed.TotalSeconds:F1}s";
        output.WriteLine(summary);
        Console.WriteLine("CRASH " + summary);
        _acknowledged.Should().BeGreaterThan(kills, "the writers got work done between kills");
    }

    /// <summary>One writer: opens paths, adds a block to some, closes others, until the server dies.</summary>
    private async Task WriteAsync(LeaseClient client, string holder, ulong epochsAbove, ulong blockIdsAbove)
    {
        var random = new Random(holder.GetHashCode(StringComparison.Ordinal));
        var mine = new List<string>();
        for (var i = 0; i < MaxOperationsPerWriter; i++)
        {
            string op, path;
            if (mine.Count == 0 || random.Next(3) == 0)
            {
                (op, path) = ("open", $"/crash/{holder}/{i}");
            }
            else
            {
                path = mine[random.Next(mine.Count)];
                op = random.Next(2) == 0 ? "block" : "close";
            }

            try
            {
                switch (op)
                {
                    case "open":
                        var lease = await client.AddLeaseAsync(holder, path, "crash-host");
                        lease.Epoch.Should().BeGreaterThan(epochsAbove, "epochs continue above everything issued before the crash");
                        _epochs.TryAdd(lease.Epoch, path).Should().BeTrue($"epoch {lease.Epoch} was issued twice");
                        _open[path] = (holder, lease.Epoch);
                        mine.Add(path);
                        break;
                    case "block":
                        var block = await client.AddBlockAsync(holder, path);
                        block.Block.BlockId.Should().BeGreaterThan(blockIdsAbove);
                        _blockIds.TryAdd(block.Block.BlockId, path).Should().BeTrue($"block id {block.Block.BlockId} was issued twice");
                        _blocks[path] = (block.Block.BlockId, block.Block.GenerationStamp);
                        mine.Remove(path); // Its block gets no data: the file stays open.
                        break;
                    default:
                        (await client.RemoveLeaseAsync(holder, path)).Should().BeTrue("a file without blocks closes at once");
                        _open.TryRemove(path, out var was);
                        _closed[path] = was.Epoch;
                        mine.Remove(path);
                        break;
                }

                _recent.Add(path);
                Interlocked.Increment(ref _acknowledged);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException and not FluentAssertions.Execution.AssertionFailedException)
            {
                _inFlight.Add((op, path, holder)); // No answer: the server died under it.
                return;
            }
        }
    }

    /// <summary>
    /// Checks the restarted server against what the clients were told: every open lease (one
    /// listing), and the closes and blocks of the last run (or of every run, at the end).
    /// </summary>
    private async Task VerifyAsync(LeaseClient client, bool everything)
    {
        var check = everything ? null : _recent.ToHashSet(StringComparer.Ordinal);
        _recent.Clear();
        var leases = new List<Contracts.V1.LeaseInfo>();
        await foreach (var lease in client.ListAllLeasesAsync(pathPrefix: "/crash/"))
        {
            leases.Add(lease);
        }

        leases.Select(l => l.Path).Should().OnlyHaveUniqueItems("a path has one holder");
        var byPath = leases.ToDictionary(l => l.Path);
        // First settle what was in flight at the kill: each is fully there or fully absent.
        foreach (var (op, path, holder) in _inFlight)
        {
            Interlocked.Increment(ref _uncertain);
            byPath.TryGetValue(path, out var lease);
            switch (op)
            {
                case "open":
                    // Fully there (open, held by the writer, with an epoch nobody else got) or fully absent.
                    if (lease is not null)
                    {
                        lease.Holder.Should().Be(holder);
                        _epochs.TryAdd(lease.Epoch, path).Should().BeTrue($"epoch {lease.Epoch} of an unacknowledged open was issued twice");
                        _open[path] = (holder, lease.Epoch);
                        Interlocked.Increment(ref _uncertainPresent);
                    }
                    else
                    {
                        await FluentActions.Awaiting(() => client.GetFileAsync(path)).Should().ThrowAsync<LeaseNotFoundException>($"the unacknowledged open of {path} is absent, not half there");
                    }

                    break;
                case "block":
                    var blocks = (await client.GetFileAsync(path)).Blocks;
                    blocks.Count.Should().BeLessThanOrEqualTo(1);
                    if (blocks.Count == 1)
                    {
                        _blockIds.TryAdd(blocks[0].BlockId, path).Should().BeTrue($"block id {blocks[0].BlockId} was issued twice");
                        _blocks[path] = (blocks[0].BlockId, blocks[0].GenerationStamp);
                        Interlocked.Increment(ref _uncertainPresent);
                    }

                    break;
                default:
                    var file = await client.GetFileAsync(path);
                    if (!file.UnderConstruction)
                    {
                        _open.TryRemove(path, out var was);
                        _closed[path] = was.Epoch;
                        Interlocked.Increment(ref _uncertainPresent);
                    }
                    else
                    {
                        file.Holder.Should().Be(holder, "an unacknowledged close either happened or left the file as it was");
                    }

                    break;
            }
        }

        foreach (var (path, (holder, epoch)) in _open)
        {
            if (!byPath.TryGetValue(path, out var found))
            {
                string state;
                try
                {
                    state = (await client.GetFileAsync(path)).ToString();
                }
                catch (LeaseServiceException ex)
                {
                    state = ex.Message;
                }

                throw new Xunit.Sdk.XunitException($"the open of {path} (holder {holder}, epoch {epoch}) was acknowledged, but after the restart: {state}; {leases.Count} leases listed");
            }

            (byPath[path].Holder, byPath[path].Epoch).Should().Be((holder, epoch));
        }

        foreach (var (path, _) in _closed.Where(c => check is null || check.Contains(c.Key)))
        {
            (await client.GetFileAsync(path)).UnderConstruction.Should().BeFalse($"the close of {path} was acknowledged");
        }

        foreach (var (path, (blockId, stamp)) in _blocks.Where(b => check is null || check.Contains(b.Key)))
        {
            var file = await client.GetFileAsync(path);
            file.Blocks.Should().ContainSingle(b => b.BlockId == blockId && b.GenerationStamp == stamp, $"the block of {path} was acknowledged");
        }
    }

    private int Seed()
    {
        var seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        return seed;
    }
}
