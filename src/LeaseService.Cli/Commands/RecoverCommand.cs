using System.CommandLine;
using System.Globalization;
using LeaseService.Cli.Internal;
using LeaseService.Client;
using LeaseService.Shared;
using Grpc.Core;

namespace LeaseService.Cli.Commands;

/// <summary>
/// <c>lease recover</c>: HDFS's <c>hdfs debug recoverLease</c>. Same messages and the same give-up
/// rules; the outcome line goes to stdout, the progress to stderr.
/// </summary>
internal static class RecoverCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The file whose lease to recover" };
        var retries = new Option<int>("--retries")
        {
            Description = "How many times to try in all (as hdfs debug recoverLease -retries)",
            DefaultValueFactory = _ => 1,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1)
                {
                    return value;
                }

                result.AddError($"Failed to parse the argument to --retries: '{text}' is not a whole number of at least 1.");
                return default;
            },
        };
        var interval = new Option<TimeSpan>("--retry-interval")
        {
            Description = "Pause between tries: 5s, 500ms, 1m or 00:00:05",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(5),
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (DurationText.TryParse(text, out var value))
                {
                    return value;
                }

                result.AddError($"Failed to parse the argument to --retry-interval: '{text}' is not a duration such as 5s, 500ms or 1m.");
                return default;
            },
        };
        var force = new Option<bool>("--force") { Description = "Recover even while the holder's soft limit has not expired" };
        var requester = new Option<string?>("--requester") { Description = "Who asks, recorded as the recovering holder" };

        var command = new Command("recover", "Recover the lease of a file and close it (hdfs debug recoverLease)")
        {
            path, retries, interval, force, requester,
        };
        command.SetAction((parse, ct) => context.RunAsync(
            parse,
            "recover",
            (client, token) => RunAsync(context, client, parse.GetValue(path)!, parse.GetValue(retries), parse.GetValue(interval), parse.GetValue(force), parse.GetValue(requester), parse.GetValue(context.TimeoutOption), token),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, LeaseClient client, string path, int retries, TimeSpan interval, bool force, string? requester, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var error = context.Error;
        for (var attempt = 1; ; attempt++)
        {
            var unreachable = false;
            try
            {
                var response = await client.RecoverLeaseAsync(path, requester, force, cancellationToken).ConfigureAwait(false);
                if (response.Closed)
                {
                    context.Out.WriteLine($"recoverLease SUCCEEDED on {path}");
                    return ExitCodes.Success;
                }

                error.WriteLine("recoverLease returned false.");
                if (response.Lease is { } lease)
                {
                    var recovery = lease.RecoveryId != 0 ? string.Create(CultureInfo.InvariantCulture, $", block recovery id {lease.RecoveryId}") : string.Empty;
                    error.WriteLine($"  {ControlText.Escape(path)}: {CliContext.StateName(lease.State)}, holder {ControlText.Escape(lease.Holder)}{recovery}");
                }
            }
            catch (LeaseNotFoundException ex)
            {
                // As DebugAdmin on FileNotFoundException: retrying cannot help.
                error.WriteLine($"recoverLease got exception: {ex.Status.Detail}");
                error.WriteLine($"Giving up on recoverLease for {path} after 1 try.");
                return ExitCodes.Failed;
            }
            catch (LeaseArgumentException ex)
            {
                error.WriteLine($"recoverLease got exception: {ex.Status.Detail}");
                error.WriteLine($"Giving up on recoverLease for {path} after 1 try.");
                return ExitCodes.Usage;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && ex.StatusCode == StatusCode.DeadlineExceeded)
            {
                // No detail to show: Grpc.Net.Client's own deadline passed (a paused or overloaded server).
                unreachable = true;
                error.WriteLine($"recoverLease got exception: no answer from the server within {Durations.Format(timeout)} ({CliContext.CodeName(ex.StatusCode)})");
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                unreachable = CliContext.IsUnreachable(ex);
                error.WriteLine($"recoverLease got exception: {CliContext.Describe(ex)}");
                if (ex is LeaseConflictException && !force)
                {
                    error.WriteLine("  (the holder's soft limit has not expired; --force recovers it anyway)");
                }
            }

            if (attempt >= retries)
            {
                error.WriteLine($"Giving up on recoverLease for {path} after {attempt} {(attempt == 1 ? "try" : "tries")}.");
                return unreachable ? ExitCodes.Unreachable : ExitCodes.Failed;
            }

            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Retrying in {(long)interval.TotalMilliseconds} ms..."));
            await WaitWithProgressAsync(context, interval, cancellationToken).ConfigureAwait(false);
            error.WriteLine($"Retry #{attempt}");
        }
    }

    /// <summary>Waits, printing a dot a second on stderr so a long wait visibly progresses.</summary>
    private static async Task WaitWithProgressAsync(CliContext context, TimeSpan interval, CancellationToken cancellationToken)
    {
        var left = interval;
        var dots = false;
        try
        {
            while (left > TimeSpan.Zero)
            {
                var step = left > TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : left;
                await context.Delay(step, cancellationToken).ConfigureAwait(false);
                left -= step;
                if (step == TimeSpan.FromSeconds(1))
                {
                    context.Error.Write('.');
                    dots = true;
                }
            }
        }
        finally
        {
            // Also when cancelled: "cancelled." goes on a line of its own.
            if (dots)
            {
                context.Error.WriteLine();
            }
        }
    }
}
