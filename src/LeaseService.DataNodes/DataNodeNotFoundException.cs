namespace LeaseService.DataNodes;

/// <summary>Thrown by the simulator's control API for a DataNode id the cluster does not have.</summary>
public sealed class DataNodeNotFoundException : Exception
{
    /// <summary>Creates the exception for <paramref name="dataNodeId"/>.</summary>
    public DataNodeNotFoundException(string dataNodeId)
        : base($"Unknown DataNode '{LeaseService.Core.LeaseValidation.Echo(dataNodeId)}'.")
    {
        DataNodeId = dataNodeId;
    }

    /// <summary>The id that was not found.</summary>
    public string DataNodeId { get; }
}
