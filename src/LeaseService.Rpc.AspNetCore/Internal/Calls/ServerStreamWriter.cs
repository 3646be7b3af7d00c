using Google.Protobuf;

namespace LeaseService.Rpc.AspNetCore.Internal.Calls;

/// <summary>The writer handed to a server-streaming handler; each message is framed and flushed.</summary>
internal sealed class ServerStreamWriter<T>(ServerCallContext call) : IServerStreamWriter<T>
    where T : IMessage<T>
{
    public ValueTask WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return call.WriteStreamMessageAsync(message, cancellationToken);
    }
}
