namespace LeaseService.Rpc;

/// <summary>A call that ended with a status other than OK.</summary>
public class RpcException : Exception
{
    public RpcException(Status status)
        : base(status.ToString())
    {
        Status = status;
    }

    public RpcException(Status status, Exception? innerException)
        : base(status.ToString(), innerException)
    {
        Status = status;
    }

    public RpcException(StatusCode code, string detail)
        : this(new Status(code, detail))
    {
    }

    public RpcException()
        : this(new Status(StatusCode.Unknown, string.Empty))
    {
    }

    public RpcException(string message)
        : this(new Status(StatusCode.Unknown, message))
    {
    }

    public RpcException(string message, Exception innerException)
        : this(new Status(StatusCode.Unknown, message), innerException)
    {
    }

    public Status Status { get; }

    public StatusCode StatusCode => Status.Code;
}
