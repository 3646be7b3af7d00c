using System.CommandLine;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using LeaseService.Cli.Internal;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Shared;
using Grpc.Core;

namespace LeaseService.Cli.Commands;

/// <summary>
/// <c>lease ls</c>, <c>lease get</c>, <c>lease file</c>: tables for people (control characters in
/// names escaped, <see cref="ControlText"/>), <c>--json</c> (proto3 JSON, names exact) for scripts.
/// </summary>
internal static class ReadCommands
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static Option<bool> JsonOption() => new("--json") { Description = "Print proto3 JSON instead of a table" };

    public static Command List(CliContext context)
    {
        var holder = new Option<string?>("--holder") { Description = "Only the files of this holder" };
        var prefix = new Option<string?>("--prefix") { Description = "Only paths starting with this prefix" };
        var json = JsonOption();
        var command = new Command("ls", "List open files and their leases") { holder, prefix, json };
        command.SetAction((parse, ct) => context.RunAsync(parse, "ls", async (client, token) =>
        {
            var leases = new List<LeaseInfo>();
            await foreach (var lease in client.ListAllLeasesAsync(parse.GetValue(holder), parse.GetValue(prefix), token).ConfigureAwait(false))
            {
                leases.Add(lease);
            }

            if (parse.GetValue(json))
            {
                context.Out.WriteLine("[" + string.Join(",", leases.Select(l => Json.Format(l))) + "]");
                return ExitCodes.Success;
            }

            var table = new TableWriter("PATH", "HOLDER", "MACHINE", "STATE", "EPOCH", "SOFT", "HARD");
            foreach (var lease in leases)
            {
                table.Add(
                    lease.Path,
                    lease.Holder,
                    lease.ClientMachine.Length == 0 ? "-" : lease.ClientMachine,
                    CliContext.StateName(lease.State),
                    lease.Epoch.ToString(CultureInfo.InvariantCulture),
                    Durations.Format(lease.SoftLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero),
                    Durations.Format(lease.HardLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero));
            }

            table.Write(context.Out);
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command Get(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "An open file" };
        var json = JsonOption();
        var command = new Command("get", "Show the lease of an open file") { path, json };
        command.SetAction((parse, ct) => context.RunAsync(parse, "get", async (client, token) =>
        {
            var lease = await client.GetLeaseAsync(parse.GetValue(path)!, token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                context.Out.WriteLine(Json.Format(lease));
                return ExitCodes.Success;
            }

            var output = context.Out;
            output.WriteLine($"path:            {ControlText.Escape(lease.Path)}");
            output.WriteLine($"holder:          {ControlText.Escape(lease.Holder)}");
            output.WriteLine($"machine:         {(lease.ClientMachine.Length == 0 ? "-" : ControlText.Escape(lease.ClientMachine))}");
            output.WriteLine($"state:           {CliContext.StateName(lease.State)}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch:           {lease.Epoch}"));
            if (lease.LastRenewed is { } renewed)
            {
                output.WriteLine($"last renewed:    {renewed.ToDateTimeOffset().ToString("u", CultureInfo.InvariantCulture)}");
            }

            output.WriteLine($"soft remaining:  {Durations.Format(lease.SoftLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero)}");
            output.WriteLine($"hard remaining:  {Durations.Format(lease.HardLimitRemaining?.ToTimeSpan() ?? TimeSpan.Zero)}");
            if (lease.RecoveryId != 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recovery id:     {lease.RecoveryId}"));
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    public static Command File(CliContext context)
    {
        var path = new Argument<string>("path") { Description = "A file, open or closed" };
        var json = JsonOption();
        var command = new Command("file", "Show a file with its blocks and their replicas") { path, json };
        command.SetAction((parse, ct) => context.RunAsync(parse, "file", async (client, token) =>
        {
            var file = await client.GetFileAsync(parse.GetValue(path)!, token).ConfigureAwait(false);
            var replicas = await ListReplicasAsync(client, file, token).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var text = new StringBuilder("{\"file\":").Append(Json.Format(file)).Append(",\"replicas\":");
                text.Append(replicas is null ? "null" : "[" + string.Join(",", replicas.SelectMany(r => r.Value).Select(r => Json.Format(r))) + "]");
                context.Out.WriteLine(text.Append('}').ToString());
                return ExitCodes.Success;
            }

            var output = context.Out;
            output.WriteLine($"path:                {ControlText.Escape(file.Path)}");
            output.WriteLine($"under construction:  {(file.UnderConstruction ? "yes" : "no")}");
            output.WriteLine($"holder:              {(file.Holder.Length == 0 ? "-" : ControlText.Escape(file.Holder))}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"length:              {file.Length}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch:               {file.Epoch}"));
            output.WriteLine();
            var blocks = new TableWriter("BLOCK", "GS", "BYTES", "STATE", "LOCATIONS");
            foreach (var block in file.Blocks)
            {
                blocks.Add(
                    block.BlockId.ToString(CultureInfo.InvariantCulture),
                    block.GenerationStamp.ToString(CultureInfo.InvariantCulture),
                    block.NumBytes.ToString(CultureInfo.InvariantCulture),
                    CliContext.StateName(block.State),
                    block.Locations.Count == 0 ? "-" : string.Join(",", block.Locations));
            }

            blocks.Write(output);
            if (replicas is not null)
            {
                output.WriteLine();
                var table = new TableWriter("BLOCK", "DATANODE", "STATE", "BYTES", "GS");
                foreach (var replica in replicas.SelectMany(r => r.Value))
                {
                    table.Add(
                        replica.BlockId.ToString(CultureInfo.InvariantCulture),
                        replica.DatanodeId,
                        CliContext.StateName(replica.State),
                        replica.NumBytes.ToString(CultureInfo.InvariantCulture),
                        replica.GenerationStamp.ToString(CultureInfo.InvariantCulture));
                }

                table.Write(output);
            }

            return ExitCodes.Success;
        }, ct));
        return command;
    }

    /// <summary>
    /// The replicas of each block from the DataNode simulator; null when the server has none to
    /// show this caller: it does not serve the simulator, or the caller is not an admin (the
    /// simulator is admin-only, while GetFile is open to every principal).
    /// </summary>
    private static async Task<List<KeyValuePair<ulong, IReadOnlyList<ReplicaInfo>>>?> ListReplicasAsync(LeaseClient client, Contracts.V1.FileInfo file, CancellationToken cancellationToken)
    {
        var result = new List<KeyValuePair<ulong, IReadOnlyList<ReplicaInfo>>>();
        foreach (var block in file.Blocks)
        {
            try
            {
                var response = await client.CallAsync(options => client.Simulator.ListReplicasAsync(new ListReplicasRequest { BlockId = block.BlockId }, options), cancellationToken).ConfigureAwait(false);
                result.Add(new(block.BlockId, response.Replicas));
            }
            catch (LeaseServiceException ex) when (ex.StatusCode is StatusCode.Unimplemented or StatusCode.PermissionDenied)
            {
                return null;
            }
        }

        return result;
    }
}
