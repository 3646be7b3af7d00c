using LeaseService.Rpc.Client;
using LeaseService.Rpc.Health.V1;
using LeaseService.Rpc.Tests.Client.Infrastructure;
using LeaseService.Testing;

namespace LeaseService.Rpc.Tests.Client;

/// <summary>Cancellation and deadlines racing normal completion: every call ends, with a sane status.</summary>
public sealed class RaceTests
{
    [Fact]
    public async Task Unary_CancellationRacingCompletion_EndsWithOkOrCancelled()
    {
        await using var server = await EchoServerAsync();
        using var channel = server.CreateChannel();

        var calls = new Task<StatusCode>[400];
        for (var i = 0; i < calls.Length; i++)
        {
            var cts = new CancellationTokenSource();
            var call = OutcomeAsync(channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(CancellationToken: cts.Token)));
            if (i % 4 != 0)
            {
                // Cancel at varying points: before sending, while waiting for headers, while reading.
                _ = Task.Run(async () =>
                {
                    for (var spin = 0; spin < i % 17; spin++)
                    {
                        await Task.Yield();
                    }

                    await cts.CancelAsync();
                });
            }

            calls[i] = call;
        }

        var outcomes = await Task.WhenAll(calls).DefaultTimeout();

        outcomes.Should().OnlyContain(code => code == StatusCode.OK || code == StatusCode.Cancelled);
        outcomes.Should().Contain(StatusCode.OK);
        (await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("after")).DefaultTimeout()).Service.Should().Be("after");
    }

    [Fact]
    public async Task Unary_TinyDeadlinesRacingCompletion_EndWithOkOrDeadlineExceeded()
    {
        await using var server = await EchoServerAsync();
        using var channel = server.CreateChannel();

        var calls = new Task<StatusCode>[400];
        for (var i = 0; i < calls.Length; i++)
        {
            var deadline = DateTime.UtcNow.AddTicks(TimeSpan.TicksPerMillisecond * (i % 5));
            calls[i] = OutcomeAsync(channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("x"), new CallOptions(Deadline: deadline)));
        }

        var outcomes = await Task.WhenAll(calls).DefaultTimeout();

        outcomes.Should().OnlyContain(code => code == StatusCode.OK || code == StatusCode.DeadlineExceeded);
        (await channel.UnaryAsync(TestMethods.Unary, TestMethods.Message("after")).DefaultTimeout()).Service.Should().Be("after");
    }

    [Fact]
    public async Task ServerStreaming_DisposeRacingReads_EndsWithOkOrCancelled()
    {
        await using var server = await FakeGrpcServer.StartAsync(async context =>
        {
            await Wire.ReadRequestBodyAsync(context);
            for (var i = 0; i < 20; i++)
            {
                await Wire.WriteMessageAsync(context, TestMethods.Message("m"));
            }

            Wire.SetTrailers(context, 0);
        });
        using var channel = server.CreateChannel();

        var calls = new Task<StatusCode>[100];
        for (var i = 0; i < calls.Length; i++)
        {
            var call = channel.ServerStreaming(TestMethods.Streaming, TestMethods.Message("x"));
            var disposeAfter = i % 25;
            calls[i] = Task.Run(async () =>
            {
                try
                {
                    var read = 0;
                    await foreach (var unused in call.ReadAllAsync())
                    {
                        if (++read == disposeAfter)
                        {
                            _ = Task.Run(call.Dispose);
                        }
                    }

                    return StatusCode.OK;
                }
                catch (RpcException ex)
                {
                    call.GetStatus().Code.Should().Be(ex.StatusCode);
                    return ex.StatusCode;
                }
                finally
                {
                    call.Dispose();
                }
            });
        }

        var outcomes = await Task.WhenAll(calls).DefaultTimeout();

        outcomes.Should().OnlyContain(code => code == StatusCode.OK || code == StatusCode.Cancelled);
    }

    private static Task<FakeGrpcServer> EchoServerAsync()
        => FakeGrpcServer.StartAsync(async context =>
        {
            var request = await Wire.ReadRequestAsync(context, HealthCheckRequest.Parser);
            await Wire.WriteMessageAsync(context, request, flush: false);
            Wire.SetTrailers(context, 0);
        });

    private static async Task<StatusCode> OutcomeAsync<T>(Task<T> call)
    {
        try
        {
            await call;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
