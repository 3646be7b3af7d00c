namespace LeaseService.Rpc.AspNetCore;

/// <summary>Handles one unary call. Throw <see cref="RpcException"/> to fail it with a status.</summary>
public delegate ValueTask<TResponse> UnaryServerMethod<TRequest, TResponse>(TRequest request, ServerCallContext context);

/// <summary>
/// Handles one server-streaming call: write zero or more messages, then return (OK) or throw
/// <see cref="RpcException"/>. Await every write; only one write may be in flight at a time.
/// </summary>
public delegate Task ServerStreamingServerMethod<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> writer, ServerCallContext context);
