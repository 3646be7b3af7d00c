using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.AspNetCore;
using LeaseService.Rpc.Health.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace LeaseService.Rpc.Tests.Server;

public sealed class RegistrationTests
{
    private static readonly Method<StringValue, StringValue> UnaryMethod = new(MethodType.Unary, "test.v1.Reg", "M", StringValue.Parser, StringValue.Parser);
    private static readonly Method<StringValue, StringValue> StreamingMethod = new(MethodType.ServerStreaming, "test.v1.Reg", "S", StringValue.Parser, StringValue.Parser);

    [Fact]
    public async Task AddUnary_WithServerStreamingMethod_Throws()
    {
        await using var app = Build();

        var act = () => app.UseGrpcWire(r => r.AddUnary(StreamingMethod, static (req, ctx) => ValueTask.FromResult(req)));

        act.Should().Throw<ArgumentException>().WithMessage("*ServerStreaming*");
    }

    [Fact]
    public async Task AddServerStreaming_WithUnaryMethod_Throws()
    {
        await using var app = Build();

        var act = () => app.UseGrpcWire(r => r.AddServerStreaming(UnaryMethod, static (req, writer, ctx) => Task.CompletedTask));

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task SamePathTwice_Throws()
    {
        await using var app = Build();

        var act = () => app.UseGrpcWire(r => r
            .AddUnary(UnaryMethod, static (req, ctx) => ValueTask.FromResult(req))
            .AddUnary(UnaryMethod, static (req, ctx) => ValueTask.FromResult(req)));

        act.Should().Throw<InvalidOperationException>().WithMessage("*/test.v1.Reg/M*already registered*");
    }

    [Fact]
    public async Task HealthCheckPath_IsRegisteredByTheWireItself()
    {
        await using var app = Build();
        var check = new Method<HealthCheckRequest, HealthCheckResponse>(MethodType.Unary, "grpc.health.v1.Health", "Check", HealthCheckRequest.Parser, HealthCheckResponse.Parser);

        var act = () => app.UseGrpcWire(r => r.AddUnary(check, static (req, ctx) => ValueTask.FromResult(new HealthCheckResponse())));

        act.Should().Throw<InvalidOperationException>().WithMessage("*already registered*");
    }

    [Fact]
    public async Task RegistryUsedAfterStartUp_Throws()
    {
        await using var app = Build();
        GrpcMethodRegistry? kept = null;
        app.UseGrpcWire(r => kept = r);

        var act = () => kept!.AddUnary(UnaryMethod, static (req, ctx) => ValueTask.FromResult(req));

        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public async Task UseGrpcWire_WithoutAddGrpcWire_ThrowsClearly()
    {
        await using var app = WebApplication.CreateSlimBuilder().Build();

        var act = () => app.UseGrpcWire(static r => { });

        act.Should().Throw<InvalidOperationException>().WithMessage("*AddGrpcWire*");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task InvalidMaxReceiveMessageSize_FailsAtStartUp(int size)
    {
        await using var app = Build(o => o.MaxReceiveMessageSize = size);

        var act = () => app.UseGrpcWire(static r => { });

        act.Should().Throw<OptionsValidationException>();
    }

    private static WebApplication Build(Action<GrpcServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddGrpcWire(configure);
        return builder.Build();
    }
}
