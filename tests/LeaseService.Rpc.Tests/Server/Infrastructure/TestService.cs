using Google.Protobuf.WellKnownTypes;
using LeaseService.Rpc.AspNetCore;

namespace LeaseService.Rpc.Tests.Server.Infrastructure;

/// <summary>A tiny service on well-known-type messages, plus signals the tests await.</summary>
public sealed class TestService
{
    public const string ServiceName = "test.v1.Test";

    public static readonly Method<StringValue, StringValue> Echo = Unary<StringValue, StringValue>("Echo", StringValue.Parser, StringValue.Parser);
    public static readonly Method<StringValue, StringValue> AsyncEcho = Unary<StringValue, StringValue>("AsyncEcho", StringValue.Parser, StringValue.Parser);
    public static readonly Method<StringValue, StringValue> Fail = Unary<StringValue, StringValue>("Fail", StringValue.Parser, StringValue.Parser);
    public static readonly Method<StringValue, StringValue> Throw = Unary<StringValue, StringValue>("Throw", StringValue.Parser, StringValue.Parser);
    public static readonly Method<StringValue, StringValue> Slow = Unary<StringValue, StringValue>("Slow", StringValue.Parser, StringValue.Parser);
    public static readonly Method<StringValue, StringValue> Gate = Unary<StringValue, StringValue>("Gate", StringValue.Parser, StringValue.Parser);
    public static readonly Method<Empty, StringValue> Deadline = Unary<Empty, StringValue>("Deadline", Empty.Parser, StringValue.Parser);
    public static readonly Method<Empty, StringValue> Metadata = Unary<Empty, StringValue>("Metadata", Empty.Parser, StringValue.Parser);
    public static readonly Method<Int32Value, Int32Value> Count = new(MethodType.ServerStreaming, ServiceName, "Count", Int32Value.Parser, Int32Value.Parser);
    public static readonly Method<Empty, BytesValue> Flood = new(MethodType.ServerStreaming, ServiceName, "Flood", Empty.Parser, BytesValue.Parser);
    public static readonly Method<Int32Value, Int32Value> CountThenFail = new(MethodType.ServerStreaming, ServiceName, "CountThenFail", Int32Value.Parser, Int32Value.Parser);
    public static readonly Method<Empty, Int32Value> SlowStream = new(MethodType.ServerStreaming, ServiceName, "SlowStream", Empty.Parser, Int32Value.Parser);

    public TaskCompletionSource<ServerCallContext> SlowStarted { get; } = NewTcs<ServerCallContext>();

    public TaskCompletionSource SlowCancelled { get; } = NewTcs();

    /// <summary>Set when a Flood write did not complete at once: the handler is blocked by flow control.</summary>
    public TaskCompletionSource FloodBlocked { get; } = NewTcs();

    public TaskCompletionSource<Exception> FloodEnded { get; } = NewTcs<Exception>();

    public TaskCompletionSource GateEntered { get; } = NewTcs();

    public TaskCompletionSource GateRelease { get; } = NewTcs();

    public void Register(GrpcMethodRegistry registry)
    {
        registry
            .AddUnary(Echo, static (request, context) =>
            {
                context.ResponseTrailers["x-echo-trailer"] = "yes";
                return ValueTask.FromResult(new StringValue { Value = request.Value });
            })
            .AddUnary(AsyncEcho, static async (request, context) =>
            {
                await Task.Yield();
                return new StringValue { Value = request.Value };
            })
            .AddUnary(Fail, static (request, context) =>
            {
                context.ResponseTrailers["x-fail-trailer"] = "custom";
                context.ResponseTrailers["grpc-status"] = "0"; // must be overridden by the real status
                throw new RpcException(StatusCode.FailedPrecondition, request.Value);
            })
            .AddUnary<StringValue, StringValue>(Throw, static (request, context) =>
                throw new InvalidOperationException("secret internal detail: connection string=xyz"))
            .AddUnary(Slow, async (request, context) =>
            {
                SlowStarted.TrySetResult(context);
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    SlowCancelled.TrySetResult();
                    throw;
                }

                return request;
            })
            .AddUnary(Gate, async (request, context) =>
            {
                GateEntered.TrySetResult();
                await GateRelease.Task;
                return request;
            })
            .AddUnary(Deadline, static (request, context) => ValueTask.FromResult(new StringValue
            {
                Value = context.Deadline is { } deadline ? deadline.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) + (deadline.Kind == DateTimeKind.Utc ? "Z" : "?") : "none",
            }))
            .AddUnary(Metadata, static (request, context) => ValueTask.FromResult(new StringValue
            {
                Value = string.Join(",", context.RequestHeaders.Select(h => h.Key + "=" + h.Value).Order(StringComparer.Ordinal)) + "|" + context.Method + "|" + context.Peer,
            }))
            .AddServerStreaming(Count, static async (request, writer, context) =>
            {
                for (var i = 0; i < request.Value; i++)
                {
                    await writer.WriteAsync(new Int32Value { Value = i });
                }
            })
            .AddServerStreaming(CountThenFail, static async (request, writer, context) =>
            {
                for (var i = 0; i < request.Value; i++)
                {
                    await writer.WriteAsync(new Int32Value { Value = i });
                }

                context.ResponseTrailers["x-written"] = request.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
                throw new RpcException(StatusCode.Aborted, "stopped after " + request.Value);
            })
            .AddServerStreaming(Flood, async (request, writer, context) =>
            {
                var chunk = new BytesValue { Value = Google.Protobuf.ByteString.CopyFrom(new byte[64 * 1024]) };
                try
                {
                    while (true)
                    {
                        var write = writer.WriteAsync(chunk);
                        if (!write.IsCompleted)
                        {
                            FloodBlocked.TrySetResult();
                        }

                        await write;
                    }
                }
                catch (Exception ex)
                {
                    FloodEnded.TrySetResult(ex);
                    throw;
                }
            })
            .AddServerStreaming(SlowStream, async (request, writer, context) =>
            {
                await writer.WriteAsync(new Int32Value { Value = 1 });
                SlowStarted.TrySetResult(context);
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
                }
                catch (OperationCanceledException)
                {
                    SlowCancelled.TrySetResult();
                    throw;
                }
            });
    }

    private static Method<TReq, TResp> Unary<TReq, TResp>(string name, Google.Protobuf.MessageParser<TReq> req, Google.Protobuf.MessageParser<TResp> resp)
        where TReq : Google.Protobuf.IMessage<TReq>
        where TResp : Google.Protobuf.IMessage<TResp>
        => new(MethodType.Unary, ServiceName, name, req, resp);

    private static TaskCompletionSource<T> NewTcs<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static TaskCompletionSource NewTcs() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
