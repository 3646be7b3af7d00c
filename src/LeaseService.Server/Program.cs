using LeaseService.Core.Storage;
using LeaseService.Server;
using LeaseService.Server.Probe;
using Microsoft.Extensions.Options;

if (HealthProbe.IsProbe(args))
{
    // The container HEALTHCHECK: one health Check against the running server, no web host.
    return await HealthProbe.RunAsync(args, Console.Out).ConfigureAwait(false);
}

try
{
    var app = LeaseServer.Build(args);
    Console.WriteLine($"LeaseService storage: {app.StorageDescription()}");
    await app.StartAsync().ConfigureAwait(false);
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
}
catch (LeaseStoreException ex)
{
    // Never start empty over a store it cannot read: name the path and the reason, no stack trace.
    await Console.Error.WriteLineAsync($"Cannot use the lease store: {ex.Message}").ConfigureAwait(false);
    return 2;
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync($"Invalid configuration: {string.Join(" ", ex.Failures)}").ConfigureAwait(false);
    return 2;
}
catch (InvalidOperationException ex) when (ex.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
{
    // Binding errors name the key, e.g. "Failed to convert configuration value at 'Leases:SoftLimit'".
    await Console.Error.WriteLineAsync($"Invalid configuration: {ex.Message}").ConfigureAwait(false);
    return 2;
}
