using System.CommandLine;
using System.CommandLine.Help;
using LeaseService.Cli.Commands;
using LeaseService.Cli.Internal;
using LeaseService.Client;

namespace LeaseService.Cli;

/// <summary>
/// The <c>lease</c> command line. <see cref="RunAsync"/> is the whole program with its outside
/// world injected, so tests run it in-process.
/// </summary>
internal static class LeaseCli
{
    /// <summary>Parses <paramref name="args"/>, runs the command and returns its exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The arguments after the program name.</param>
    /// <param name="stdout">Results (what scripts read).</param>
    /// <param name="stderr">Errors and progress.</param>
    /// <param name="clientFactory">Makes the client for a server address and the credentials of --token, --cert/--key and --ca; default <see cref="LeaseClient.Create"/>.</param>
    /// <param name="delay">Waits between recover tries; default <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> on <paramref name="timeProvider"/>.</param>
    /// <param name="timeProvider">The clock of the default delay; default the system clock.</param>
    /// <param name="environment">Reads environment variables; default <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    /// <param name="cancellationToken">Stops the command (Ctrl+C in the real program).</param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        Func<string, LeaseClientOptions, LeaseClient>? clientFactory = null,
        Func<TimeSpan, CancellationToken, Task>? delay = null,
        TimeProvider? timeProvider = null,
        Func<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var time = timeProvider ?? TimeProvider.System;
        var context = new CliContext(
            stdout,
            stderr,
            clientFactory ?? ((address, options) => LeaseClient.Create(address, options)),
            delay ?? ((d, ct) => Task.Delay(d, time, ct)),
            environment ?? Environment.GetEnvironmentVariable);

        var root = new RootCommand("lease: inspect and recover LeaseService leases. Exit codes: 0 success, 1 failed, 2 usage, 3 server unreachable.")
        {
            context.ServerOption,
            context.TokenOption,
            context.CertOption,
            context.KeyOption,
            context.CaOption,
            context.TimeoutOption,
            RecoverCommand.Create(context),
            ReadCommands.List(context),
            ReadCommands.Get(context),
            ReadCommands.File(context),
            ScriptCommands.Add(context),
            ScriptCommands.Renew(context),
            ScriptCommands.Release(context),
            ScriptCommands.Remove(context),
        };

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine($"lease: {error.Message}");
            }

            stderr.WriteLine("Run 'lease --help' for usage.");
            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
        };
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }
}
