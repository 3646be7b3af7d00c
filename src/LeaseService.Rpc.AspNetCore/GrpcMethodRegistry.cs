using System.Collections.Frozen;
using Google.Protobuf;
using LeaseService.Rpc.AspNetCore.Internal.Calls;
using LeaseService.Rpc.AspNetCore.Internal.Dispatch;

namespace LeaseService.Rpc.AspNetCore;

/// <summary>
/// The methods this server serves, keyed by path. Filled inside <c>UseGrpcWire</c> at start-up,
/// then frozen; adding afterwards throws.
/// </summary>
public sealed class GrpcMethodRegistry
{
    private readonly GrpcServerRuntime _runtime;
    private readonly Dictionary<string, ServerMethodInvoker> _methods = new(StringComparer.Ordinal);
    private bool _frozen;

    internal GrpcMethodRegistry(GrpcServerRuntime runtime)
    {
        _runtime = runtime;
    }

    /// <summary>Serves <paramref name="method"/> (which must be <see cref="MethodType.Unary"/>) with <paramref name="handler"/>.</summary>
    public GrpcMethodRegistry AddUnary<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Type != MethodType.Unary)
        {
            throw new ArgumentException($"Method '{method.FullName}' is {method.Type}, not Unary.", nameof(method));
        }

        return Add(new UnaryMethodInvoker<TRequest, TResponse>(method, handler, _runtime));
    }

    /// <summary>Serves <paramref name="method"/> (which must be <see cref="MethodType.ServerStreaming"/>) with <paramref name="handler"/>.</summary>
    public GrpcMethodRegistry AddServerStreaming<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
        where TRequest : IMessage<TRequest>
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (method.Type != MethodType.ServerStreaming)
        {
            throw new ArgumentException($"Method '{method.FullName}' is {method.Type}, not ServerStreaming.", nameof(method));
        }

        return Add(new ServerStreamingMethodInvoker<TRequest, TResponse>(method, handler, _runtime));
    }

    internal FrozenDictionary<string, ServerMethodInvoker> Freeze()
    {
        _frozen = true;
        return _methods.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private GrpcMethodRegistry Add(ServerMethodInvoker invoker)
    {
        if (_frozen)
        {
            throw new InvalidOperationException("Methods can only be added while UseGrpcWire runs.");
        }

        if (!_methods.TryAdd(invoker.Path, invoker))
        {
            throw new InvalidOperationException($"Method '{invoker.Path}' is already registered.");
        }

        return this;
    }
}
