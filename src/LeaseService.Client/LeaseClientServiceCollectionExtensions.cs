using Grpc.Core;
using Grpc.Net.Client.Configuration;
using LeaseService.Client.Internal.Failover;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client;

/// <summary>Registers <see cref="LeaseClient"/> with DI: one server through Grpc.Net.ClientFactory, or several replicas.</summary>
public static class LeaseClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds a transient <see cref="LeaseClient"/> for <paramref name="address"/> whose calls go
    /// through a channel that Grpc.Net.ClientFactory manages (so <c>IHttpClientBuilder</c> handlers,
    /// interceptors and channel options apply), with the retry policy and keep-alive pings of
    /// <see cref="LeaseClient.CreateChannelOptions"/>, and the options' credentials as
    /// <see cref="LeaseClient.Create(string, LeaseClientOptions?)"/> applies them: the client
    /// certificate and server CA on its TLS, the bearer token on every call (over cleartext only
    /// to a loopback address). Returns the builder to configure it further. Transient, as the
    /// factory's clients are, so scoped interceptors and call credentials see the caller's scope;
    /// it owns no connection (the factory does). Resolve it from a scope or keep the one you
    /// resolve: the root container keeps every disposable transient it hands out until it is
    /// disposed itself.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// A bearer token over cleartext to a non-loopback address, or <see cref="LeaseClientOptions.Channel"/>
    /// set (the factory owns the channel: configure it through the returned builder's <c>ConfigureChannel</c>).
    /// </exception>
    /// <exception cref="InvalidOperationException">A <see cref="LeaseClient"/> is already registered.</exception>
    public static IHttpClientBuilder AddLeaseClient(this IServiceCollection services, Uri address, LeaseClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(address);
        options ??= new LeaseClientOptions();
        options.Validate();
        if (options.Channel is not null)
        {
            throw new ArgumentException(
                $"{nameof(LeaseClientOptions)}.{nameof(LeaseClientOptions.Channel)} does not apply to a client from the factory, which owns the channel: configure it through the returned builder (ConfigureChannel; ConfigurePrimaryHttpMessageHandler((handler, services) => ...) to adjust the client's handler, whose TLS settings a handler of your own would replace).",
                nameof(options));
        }

        RefuseSecondClient(services);
        var tokenOverCleartext = LeaseClient.CheckBearerTransport(address, options);
        var retries = new ServiceConfig { MethodConfigs = { LeaseClient.RetryPolicyConfig() } };
        var builder = services
            .AddGrpcClient<FactoryInvoker>(o => o.Address = address)
            .ConfigureChannel(channel =>
            {
                channel.ServiceConfig = retries;
                channel.UnsafeUseInsecureChannelCallCredentials = tokenOverCleartext;
            })
            .ConfigurePrimaryHttpMessageHandler(() =>
            {
                var handler = (SocketsHttpHandler)LeaseClient.CreateChannelOptions().HttpHandler!;
                handler.ConnectTimeout = options.ConnectTimeout;
                LeaseClient.ConfigureTls(handler.SslOptions, options);
                return handler;
            });
        services.AddTransient(sp => new LeaseClient(sp.GetRequiredService<FactoryInvoker>().Invoker, address, options));
        return builder;
    }

    /// <summary>
    /// Adds one shared <see cref="LeaseClient"/> of several replicas of the service, as
    /// <see cref="LeaseClient.Create(IEnumerable{string}, LeaseClientOptions?)"/> makes it: calls go
    /// to the active replica and follow it when it changes. A singleton, since its channels (one per
    /// replica, its own, not the factory's) and the replica it believes active are worth keeping;
    /// the container disposes it. One address is a client of that server alone.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// No address, one that is not an absolute http(s) URL, invalid failover options, or a bearer
    /// token over cleartext to a non-loopback address.
    /// </exception>
    /// <exception cref="InvalidOperationException">A <see cref="LeaseClient"/> is already registered.</exception>
    public static IServiceCollection AddLeaseClient(this IServiceCollection services, IEnumerable<Uri> replicas, LeaseClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(replicas);
        RefuseSecondClient(services);
        options ??= new LeaseClientOptions();
        options.Validate();
        var addresses = replicas.Select(replica => replica?.OriginalString ?? throw new ArgumentException("A replica address is null.", nameof(replicas))).ToArray();

        // Refused here, when the application registers it, not at its first resolve.
        var parsed = ReplicaAddresses.Parse(addresses);
        if (parsed.Count > 1)
        {
            options.ValidateFailover();
        }

        foreach (var address in parsed.All)
        {
            LeaseClient.CheckBearerTransport(address, options);
        }

        services.AddSingleton(_ => LeaseClient.Create(addresses, options));
        return services;
    }

    /// <summary>
    /// One <see cref="LeaseClient"/> per container: a second registration would silently win over
    /// the first (and share its factory client), sending calls somewhere the first one did not say.
    /// </summary>
    private static void RefuseSecondClient(IServiceCollection services)
    {
        if (services.Any(descriptor => descriptor.ServiceType == typeof(LeaseClient)))
        {
            throw new InvalidOperationException("A LeaseClient is already registered (AddLeaseClient was called before). Register one; for several replicas of the service, pass all their addresses to one call.");
        }
    }

    /// <summary>The "typed client" the factory builds: it only carries the factory's invoker.</summary>
    internal sealed class FactoryInvoker(CallInvoker invoker)
    {
        public CallInvoker Invoker { get; } = invoker;
    }
}
