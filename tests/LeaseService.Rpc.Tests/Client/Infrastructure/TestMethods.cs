using LeaseService.Rpc.Health.V1;

namespace LeaseService.Rpc.Tests.Client.Infrastructure;

/// <summary>Methods of a service that exists only in these tests; messages borrowed from health.</summary>
internal static class TestMethods
{
    public const string ServiceName = "test.v1.Echo";

    public static readonly Method<HealthCheckRequest, HealthCheckRequest> Unary =
        new(MethodType.Unary, ServiceName, "Unary", HealthCheckRequest.Parser, HealthCheckRequest.Parser);

    public static readonly Method<HealthCheckRequest, HealthCheckRequest> Streaming =
        new(MethodType.ServerStreaming, ServiceName, "Streaming", HealthCheckRequest.Parser, HealthCheckRequest.Parser);

    public static HealthCheckRequest Message(string text) => new() { Service = text };
}
