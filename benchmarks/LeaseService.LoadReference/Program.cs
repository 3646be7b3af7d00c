using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using LeaseService.Contracts.V1;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// Same Kestrel HTTP/2 settings as the real server's defaults, no gRPC layer, no lease logic:
// read the request body, write a fixed framed RenewLeaseResponse and grpc-status 0 trailers.
var response = new RenewLeaseResponse { LeasesRenewed = 1, SoftLimit = Duration.FromTimeSpan(TimeSpan.FromSeconds(60)), HardLimit = Duration.FromTimeSpan(TimeSpan.FromHours(1)) };
var payload = response.ToByteArray();
var framed = new byte[5 + payload.Length];
BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
payload.CopyTo(framed, 5);

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(options =>
{
    options.AddServerHeader = false;
    options.Limits.Http2.MaxStreamsPerConnection = 1000;
    options.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2);
});

var app = builder.Build();
app.Run(async context =>
{
    var reader = context.Request.BodyReader;
    while (true)
    {
        var result = await reader.ReadAsync();
        reader.AdvanceTo(result.Buffer.End);
        if (result.IsCompleted)
        {
            break;
        }
    }

    context.Response.ContentType = "application/grpc";
    await context.Response.BodyWriter.WriteAsync(framed);
    context.Response.AppendTrailer("grpc-status", "0");
});
await app.StartAsync();
foreach (var address in app.Urls)
{
    Console.WriteLine($"LoadReference listening on {address}");
}

await app.WaitForShutdownAsync();
