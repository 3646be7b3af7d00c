using System.CommandLine;
using System.Globalization;
using LeaseService.Cli.Internal;
using LeaseService.Shared;

namespace LeaseService.Cli.Commands;

/// <summary><c>lease add</c>, <c>lease renew</c>, <c>lease release</c>, <c>lease rm</c>: single calls for scripts and drills.</summary>
internal static class ScriptCommands
{
    public static Command Add(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The file to open for write" };
        var holder = HolderOption();
        var machine = new Option<string?>("--machine") { Description = "Client machine recorded with the lease" };
        var command = new Command("add", "Open a file for write and take its lease (AddLease)") { path, holder, machine };
        command.SetAction((parse, ct) => context.RunAsync(parse, "add", async (client, token) =>
        {
            var lease = await client.AddLeaseAsync(parse.GetValue(holder)!, parse.GetValue(path)!, parse.GetValue(machine), token).ConfigureAwait(false);
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ControlText.Escape(lease.Holder)} holds {ControlText.Escape(lease.Path)} (epoch {lease.Epoch}, soft limit {Durations.Format(lease.SoftLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero)})"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command Renew(CliContext context)
    {
        var holder = HolderOption();
        var command = new Command("renew", "Renew every lease of a holder once (RenewLease)") { holder };
        command.SetAction((parse, ct) => context.RunAsync(parse, "renew", async (client, token) =>
        {
            var name = parse.GetValue(holder)!;
            var response = await client.RenewLeaseAsync(name, token).ConfigureAwait(false);
            context.Out.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"renewed {response.LeasesRenewed} lease(s) of {ControlText.Escape(name)} (soft limit {Durations.Format(response.SoftLimit?.ToTimeSpan() ?? TimeSpan.Zero)}, hard limit {Durations.Format(response.HardLimit?.ToTimeSpan() ?? TimeSpan.Zero)})"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command Release(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The file to close" };
        var holder = HolderOption();
        var command = new Command("release", "Close a file and release its lease (RemoveLease)") { path, holder };
        command.SetAction((parse, ct) => context.RunAsync(parse, "release", async (client, token) =>
        {
            var file = parse.GetValue(path)!;
            if (await client.RemoveLeaseAsync(parse.GetValue(holder)!, file, token).ConfigureAwait(false))
            {
                context.Out.WriteLine($"released {ControlText.Escape(file)}");
                return ExitCodes.Success;
            }

            context.Error.WriteLine($"lease release: {ControlText.Escape(file)} is not closed yet: its last block waits for FINALIZED replicas; try again.");
            return ExitCodes.Failed;
        }, ct));
        return command;
    }

    public static Command Remove(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "The file to delete" };
        var command = new Command("rm", "Delete a file, its blocks and any lease on it (DeleteFile); exit 1 when it does not exist") { path };
        command.SetAction((parse, ct) => context.RunAsync(parse, "rm", async (client, token) =>
        {
            var file = parse.GetValue(path)!;
            var response = await client.DeleteFileAsync(file, token).ConfigureAwait(false);
            context.Out.WriteLine(response.Holder.Length == 0
                ? $"Deleted {ControlText.Escape(file)}"
                : $"Deleted {ControlText.Escape(file)} (it was open for write by {ControlText.Escape(response.Holder)}; that lease on it is gone)");
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Option<string> HolderOption() => new("--holder")
    {
        Description = "The lease holder (client name)",
        Required = true,
    };
}
