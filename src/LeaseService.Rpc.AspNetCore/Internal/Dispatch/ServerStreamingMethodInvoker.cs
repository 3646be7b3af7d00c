using Google.Protobuf;
using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Framing;

namespace LeaseService.Rpc.AspNetCore.Internal.Dispatch;

/// <summary>Server-streaming calls: one request, then each written message is flushed; OK with no message is Trailers-Only.</summary>
internal sealed class ServerStreamingMethodInvoker<TRequest, TResponse>(
    Method<TRequest, TResponse> method,
    ServerStreamingServerMethod<TRequest, TResponse> handler,
    GrpcServerRuntime runtime) : ServerMethodInvoker(method.FullName, runtime)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    protected override async Task HandleCallCoreAsync(ServerCallContext call)
    {
        try
        {
            var request = call.HttpContext.Request;
            var message = await RequestMessageReader.ReadSingleMessageAsync(
                request.BodyReader, method.RequestParser, Runtime.MaxReceiveMessageSize, request.Headers.GrpcEncoding, CancellationToken.None)
                .ConfigureAwait(false);
            await handler(message, new ServerStreamWriter<TResponse>(call), call).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await CompleteWithErrorAsync(call, ex).ConfigureAwait(false);
            return;
        }

        if (!call.TryComplete())
        {
            await call.FinishAfterDeadlineAsync().ConfigureAwait(false);
            return;
        }

        if (call.HttpContext.RequestAborted.IsCancellationRequested)
        {
            call.ReleaseResources();
            call.RecordEnd(StatusCode.Cancelled);
            return;
        }

        WriteOk(call);
    }
}
