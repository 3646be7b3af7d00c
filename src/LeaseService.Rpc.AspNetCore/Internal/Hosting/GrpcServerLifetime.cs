namespace LeaseService.Rpc.AspNetCore.Internal.Hosting;

/// <summary>The server-wide draining flag, set once when the application starts stopping.</summary>
internal sealed class GrpcServerLifetime
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    /// <summary>Returns true the first time only.</summary>
    public bool BeginDraining()
    {
        if (_draining)
        {
            return false;
        }

        _draining = true;
        return true;
    }
}
