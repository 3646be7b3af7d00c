using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LeaseService.Contracts.V1;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// Grpc.AspNetCore with the server's Kestrel HTTP/2 settings and nothing else: no interceptor, no
// metrics, no logging. RenewLease looks the holder up in a dictionary under a lock and answers a
// response of the real one's shape; every other method is the generated UNIMPLEMENTED.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
    var http2 = kestrel.Limits.Http2;
    http2.MaxStreamsPerConnection = 1000;
    http2.InitialConnectionWindowSize = 8 * 1024 * 1024;
    http2.InitialStreamWindowSize = 1024 * 1024;
});
builder.Services.AddGrpc();
builder.Services.AddSingleton<MinimalRenewService>();

var app = builder.Build();
app.MapGrpcService<MinimalRenewService>();
await app.StartAsync();
foreach (var address in app.Urls)
{
    Console.WriteLine($"GrpcReference listening on {address}");
}

await app.WaitForShutdownAsync();

/// <summary>RenewLease as a dictionary lookup under a lock; any holder name is known.</summary>
internal sealed class MinimalRenewService : LeaseService.Contracts.V1.LeaseService.LeaseServiceBase
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _pathsByHolder = new(StringComparer.Ordinal);
    private readonly Duration _softLimit = Duration.FromTimeSpan(TimeSpan.FromSeconds(60));
    private readonly Duration _hardLimit = Duration.FromTimeSpan(TimeSpan.FromHours(1));

    public override Task<RenewLeaseResponse> RenewLease(RenewLeaseRequest request, ServerCallContext context)
    {
        int renewed;
        lock (_lock)
        {
            if (!_pathsByHolder.TryGetValue(request.Holder, out renewed))
            {
                renewed = 1;
                _pathsByHolder.Add(request.Holder, renewed);
            }
        }

        return Task.FromResult(new RenewLeaseResponse { LeasesRenewed = renewed, SoftLimit = _softLimit, HardLimit = _hardLimit });
    }
}
