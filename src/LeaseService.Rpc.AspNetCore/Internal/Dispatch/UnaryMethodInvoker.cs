using Google.Protobuf;
using LeaseService.Rpc.AspNetCore.Internal.Framing;
using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.AspNetCore.Internal.Dispatch;

/// <summary>
/// Unary calls. When the request is already buffered and the handler completes synchronously the
/// whole call runs without an async state machine: read, handle, write the framed response straight
/// into the body pipe, set grpc-status in the trailers, return (Kestrel sends HEADERS, DATA, trailers).
/// </summary>
internal sealed class UnaryMethodInvoker<TRequest, TResponse>(
    Method<TRequest, TResponse> method,
    UnaryServerMethod<TRequest, TResponse> handler,
    Calls.GrpcServerRuntime runtime) : ServerMethodInvoker(method.FullName, runtime)
    where TRequest : IMessage<TRequest>
    where TResponse : IMessage<TResponse>
{
    protected override Task HandleCallCoreAsync(ServerCallContext call)
    {
        var request = call.HttpContext.Request;
        ValueTask<TRequest> read;
        try
        {
            // No token: Kestrel fails the read itself on client abort and on our RST_STREAM at the
            // deadline, and not touching RequestAborted keeps the common path lock- and allocation-free.
            read = RequestMessageReader.ReadSingleMessageAsync(
                request.BodyReader, method.RequestParser, Runtime.MaxReceiveMessageSize, request.Headers.GrpcEncoding, CancellationToken.None);
        }
        catch (Exception ex)
        {
            return CompleteWithErrorAsync(call, ex);
        }

        if (!read.IsCompletedSuccessfully)
        {
            return AwaitReadAsync(call, read);
        }

        return Invoke(call, read.Result);
    }

    private Task Invoke(ServerCallContext call, TRequest request)
    {
        ValueTask<TResponse> pending;
        try
        {
            pending = handler(request, call);
        }
        catch (Exception ex)
        {
            return CompleteWithErrorAsync(call, ex);
        }

        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitHandlerAsync(call, pending);
        }

        return Complete(call, pending.Result);
    }

    private async Task AwaitReadAsync(ServerCallContext call, ValueTask<TRequest> read)
    {
        TRequest request;
        try
        {
            request = await read.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await CompleteWithErrorAsync(call, ex).ConfigureAwait(false);
            return;
        }

        await Invoke(call, request).ConfigureAwait(false);
    }

    private async Task AwaitHandlerAsync(ServerCallContext call, ValueTask<TResponse> pending)
    {
        TResponse response;
        try
        {
            response = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await CompleteWithErrorAsync(call, ex).ConfigureAwait(false);
            return;
        }

        await Complete(call, response).ConfigureAwait(false);
    }

    private Task Complete(ServerCallContext call, TResponse? message)
    {
        if (message is null)
        {
            return CompleteWithErrorAsync(call, new InvalidOperationException("The handler returned a null response message."));
        }

        if (!call.TryComplete())
        {
            return call.FinishAfterDeadlineAsync();
        }

        // A client that aborted meanwhile is not checked for: Kestrel drops writes to an aborted stream.
        var response = call.HttpContext.Response;
        var start = response.StartAsync();
        if (!start.IsCompletedSuccessfully)
        {
            return CompleteAfterStartAsync(call, start, message);
        }

        MessageFraming.WriteMessage(response.BodyWriter, message);
        WriteOk(call);
        return Task.CompletedTask;
    }

    private static async Task CompleteAfterStartAsync(ServerCallContext call, Task start, TResponse message)
    {
        try
        {
            await start.ConfigureAwait(false);
            MessageFraming.WriteMessage(call.HttpContext.Response.BodyWriter, message);
            WriteOk(call);
        }
        catch (Exception)
        {
            // The response could not start (the client went away); nothing more can be sent.
            call.ReleaseResources();
            call.RecordEnd(StatusCode.Cancelled);
        }
    }
}
