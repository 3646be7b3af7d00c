using LeaseService.Testing;

namespace LeaseService.Cli.Tests;

internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}--- stderr\n{Error}";
}

/// <summary>Runs <c>lease</c> in-process against the real server; waits between tries move the server's fake clock.</summary>
internal sealed class CliHarness(ServerFixture server)
{
    public List<TimeSpan> Delays { get; } = [];

    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Runs with <c>--server</c> pointing at the fixture.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunRawAsync([.. args, "--server", server.Address]);

    public async Task<CliResult> RunRawAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await LeaseCli.RunAsync(
            args,
            stdout,
            stderr,
            delay: async (d, ct) =>
            {
                Delays.Add(d);
                await server.AdvanceWithMonitorAsync(d);
                await server.Leases.WhenRecoveriesIdleAsync().DefaultTimeout(); // What a real wait lets finish.
            },
            environment: name => Environment.TryGetValue(name, out var value) ? value : null).DefaultTimeout();
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }
}
