namespace LeaseService.Rpc;

/// <summary>The call shapes this wire layer supports.</summary>
public enum MethodType
{
    Unary,
    ServerStreaming,
}
