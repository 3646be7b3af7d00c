using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace LeaseService.Client;

/// <summary>Registers <see cref="LeaseClient"/> with DI through Grpc.Net.ClientFactory.</summary>
public static class LeaseClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds a transient <see cref="LeaseClient"/> for <paramref name="address"/> whose calls go
    /// through a channel that Grpc.Net.ClientFactory manages (so <c>IHttpClientBuilder</c> handlers,
    /// interceptors and channel options apply), with the retry policy and keep-alive pings of
    /// <see cref="LeaseClient.CreateChannelOptions"/>. Returns the builder to configure it further.
    /// </summary>
    public static IHttpClientBuilder AddLeaseClient(this IServiceCollection services, Uri address, LeaseClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(address);
        var builder = services
            .AddGrpcClient<FactoryInvoker>(o => o.Address = address)
            .ConfigureChannel(channel => channel.ServiceConfig = LeaseClient.CreateChannelOptions().ServiceConfig)
            .ConfigurePrimaryHttpMessageHandler(() => LeaseClient.CreateChannelOptions().HttpHandler!);
        services.AddTransient(sp => new LeaseClient(sp.GetRequiredService<FactoryInvoker>().Invoker, address, options));
        return builder;
    }

    /// <summary>The "typed client" the factory builds: it only carries the factory's invoker.</summary>
    internal sealed class FactoryInvoker(CallInvoker invoker)
    {
        public CallInvoker Invoker { get; } = invoker;
    }
}
