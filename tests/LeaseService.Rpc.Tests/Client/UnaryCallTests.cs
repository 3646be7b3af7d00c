using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

public sealed class UnaryCallTests
{
    [Fact]
    public async Task Unary_ServerEchoes_ReturnsResponse()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            await Wire.WriteMessageAsync(context, TestMethods.Message("echo:" + request.Service), flush: false);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("hello")).DefaultTimeout();

        response.Service.Should().Be("echo:hello");
    }

    [Fact]
    public async Task Unary_EmptyMessages_SendsFiveByteFrameAndParsesEmptyResponse()
    {
        byte[]? seen = null;
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            seen = await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteAsync(context, [0, 0, 0, 0, 0]);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        var response = await channel.UnaryAsync(TestMethods.Unary, new HealthCheckRequest()).DefaultTimeout();

        response.Should().Be(new HealthCheckRequest());
        seen.Should().Equal(0, 0, 0, 0, 0);
    }

    [Fact]
    public async Task Unary_ResponseSplitIntoOneByteDataFrames_IsReassembled()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.StartResponseAsync(context);
            foreach (var b in Wire.Frame(TestMethods.Message("split across many frames")))
            {
                await Wire.WriteAsync(context, [b]);
            }

            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        response.Service.Should().Be("split across many frames");
    }

    [Fact]
    public async Task Unary_LargeMessagesBothWays_RoundTrip()
    {
        var large = new string('x', 1_000_000);
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            await Wire.WriteMessageAsync(context, request);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message(large)).DefaultTimeout();

        response.Service.Should().HaveLength(large.Length);
    }

    [Fact]
    public async Task Unary_ManyConcurrentCalls_AllSucceedOnOneChannel()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            await Wire.WriteMessageAsync(context, request, flush: false);
            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        // More than Kestrel's 100 streams per connection.
        var calls = new Task<HealthCheckRequest>[300];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = channel.UnaryAsync(TestMethods.Unary, TestMethods.Message(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var responses = await Task.WhenAll(calls).DefaultTimeout();

        for (var i = 0; i < responses.Length; i++)
        {
            responses[i].Service.Should().Be(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Unary_TrailersWithOkMessage_ReturnsResponse()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            await Wire.WriteMessageAsync(context, TestMethods.Message("ok"));
            Wire.SetTrailers(context, 0, "all%20good");
        });
        using var channel = server.CreateChannel();

        var response = await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x")).DefaultTimeout();

        response.Service.Should().Be("ok");
    }
}
