using LeaseService.Server;
using LeaseService.Server.Hosting;
using LeaseService.Server.Probe;

if (HealthProbe.IsProbe(args))
{
    // The container HEALTHCHECK: one health Check against the running server, no web host.
    return await HealthProbe.RunAsync(args, Console.Out).ConfigureAwait(false);
}

WebApplication app;
try
{
    app = LeaseServer.Build(args);
    Console.WriteLine($"LeaseService storage: {app.StorageDescription()}");
    await app.StartAsync().ConfigureAwait(false);
}
catch (Exception ex) when (StartupFailure.Describe(ex) is { } message)
{
    // A cause the user can fix (configuration, an occupied port, a bad URL or certificate):
    // one line naming it, no stack trace, the exit code of invalid configuration.
    await Console.Error.WriteLineAsync(message).ConfigureAwait(false);
    return StartupFailure.ExitCode;
}

foreach (var address in app.ListeningAddresses())
{
    // Tests and operators read this line to find the port.
    Console.WriteLine($"LeaseService listening on {address}");
}

foreach (var address in app.MetricsAddresses())
{
    Console.WriteLine($"LeaseService metrics on {address}/metrics");
}

await app.WaitForShutdownAsync().ConfigureAwait(false);
await app.DisposeAsync().ConfigureAwait(false);
return 0;
