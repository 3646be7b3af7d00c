using LeaseService.Rpc.Health.V1;

namespace LeaseService.Rpc.AspNetCore.Internal.Health;

/// <summary>The <c>grpc.health.v1.Health</c> method descriptors.</summary>
internal static class HealthMethods
{
    public const string ServiceName = "grpc.health.v1.Health";

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> Check =
        new(MethodType.Unary, ServiceName, "Check", HealthCheckRequest.Parser, HealthCheckResponse.Parser);

    public static readonly Method<HealthCheckRequest, HealthCheckResponse> Watch =
        new(MethodType.ServerStreaming, ServiceName, "Watch", HealthCheckRequest.Parser, HealthCheckResponse.Parser);

    public static void Register(GrpcMethodRegistry registry, HealthService health)
    {
        registry.AddUnary(Check, health.CheckAsync);
        registry.AddServerStreaming(Watch, health.WatchAsync);
    }
}
