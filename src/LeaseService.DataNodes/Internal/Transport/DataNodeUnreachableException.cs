namespace LeaseService.DataNodes.Internal.Transport;

/// <summary>
/// A DataNode could not be reached: unknown, stopped (like a refused connection) or it died
/// during the call. A transport failure, as an RPC stack would raise it; protocol refusals are
/// reply values instead.
/// </summary>
internal class DataNodeUnreachableException(string dataNodeId, string message) : Exception(message)
{
    public string DataNodeId { get; } = dataNodeId;
}

/// <summary>A DataNode did not answer within the call's timeout.</summary>
internal sealed class DataNodeTimeoutException(string dataNodeId, TimeSpan timeout)
    : DataNodeUnreachableException(dataNodeId, $"{dataNodeId} did not answer within {timeout.TotalSeconds:0.###} s.")
{
    public TimeSpan Timeout { get; } = timeout;
}
