using LeaseService.Rpc;

namespace LeaseService.Rpc.AspNetCore;

/// <summary>Options for the gRPC wire server.</summary>
public sealed class GrpcServerOptions
{
    /// <summary>
    /// The largest request message accepted, in bytes, as announced by the 5-byte frame header
    /// (checked before the payload is buffered). Default 4 MiB
    /// (<see cref="GrpcProtocol.DefaultMaxReceiveMessageSize"/>); range 1 to <see cref="int.MaxValue"/> − 5.
    /// A larger message fails the call with RESOURCE_EXHAUSTED.
    /// </summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;
}
