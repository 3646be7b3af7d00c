using LeaseService.Rpc;

namespace LeaseService.Contracts.V1;

/// <summary>The methods of <c>leases.v1.LeaseService</c>.</summary>
public static class LeaseServiceMethods
{
    public const string ServiceName = "leases.v1.LeaseService";

    public static readonly Method<AddLeaseRequest, AddLeaseResponse> AddLease = UnaryMethod.Create(ServiceName, "AddLease", AddLeaseRequest.Parser, AddLeaseResponse.Parser);
    public static readonly Method<RenewLeaseRequest, RenewLeaseResponse> RenewLease = UnaryMethod.Create(ServiceName, "RenewLease", RenewLeaseRequest.Parser, RenewLeaseResponse.Parser);
    public static readonly Method<RemoveLeaseRequest, RemoveLeaseResponse> RemoveLease = UnaryMethod.Create(ServiceName, "RemoveLease", RemoveLeaseRequest.Parser, RemoveLeaseResponse.Parser);
    public static readonly Method<RecoverLeaseRequest, RecoverLeaseResponse> RecoverLease = UnaryMethod.Create(ServiceName, "RecoverLease", RecoverLeaseRequest.Parser, RecoverLeaseResponse.Parser);
    public static readonly Method<GetLeaseRequest, GetLeaseResponse> GetLease = UnaryMethod.Create(ServiceName, "GetLease", GetLeaseRequest.Parser, GetLeaseResponse.Parser);
    public static readonly Method<ListLeasesRequest, ListLeasesResponse> ListLeases = UnaryMethod.Create(ServiceName, "ListLeases", ListLeasesRequest.Parser, ListLeasesResponse.Parser);
    public static readonly Method<AddBlockRequest, AddBlockResponse> AddBlock = UnaryMethod.Create(ServiceName, "AddBlock", AddBlockRequest.Parser, AddBlockResponse.Parser);
    public static readonly Method<GetFileRequest, FileInfo> GetFile = UnaryMethod.Create(ServiceName, "GetFile", GetFileRequest.Parser, FileInfo.Parser);
}

/// <summary>The methods of <c>leases.v1.DataNodeSimulator</c>.</summary>
public static class DataNodeSimulatorMethods
{
    public const string ServiceName = "leases.v1.DataNodeSimulator";

    public static readonly Method<WriteBlockRequest, WriteBlockResponse> WriteBlock = UnaryMethod.Create(ServiceName, "WriteBlock", WriteBlockRequest.Parser, WriteBlockResponse.Parser);
    public static readonly Method<DataNodeRequest, DataNodeInfo> StopDataNode = UnaryMethod.Create(ServiceName, "StopDataNode", DataNodeRequest.Parser, DataNodeInfo.Parser);
    public static readonly Method<DataNodeRequest, DataNodeInfo> RestartDataNode = UnaryMethod.Create(ServiceName, "RestartDataNode", DataNodeRequest.Parser, DataNodeInfo.Parser);
    public static readonly Method<DataNodeRequest, DataNodeInfo> PauseDataNode = UnaryMethod.Create(ServiceName, "PauseDataNode", DataNodeRequest.Parser, DataNodeInfo.Parser);
    public static readonly Method<DataNodeRequest, DataNodeInfo> ResumeDataNode = UnaryMethod.Create(ServiceName, "ResumeDataNode", DataNodeRequest.Parser, DataNodeInfo.Parser);
    public static readonly Method<InjectFailureRequest, DataNodeInfo> InjectFailure = UnaryMethod.Create(ServiceName, "InjectFailure", InjectFailureRequest.Parser, DataNodeInfo.Parser);
    public static readonly Method<ListDataNodesRequest, ListDataNodesResponse> ListDataNodes = UnaryMethod.Create(ServiceName, "ListDataNodes", ListDataNodesRequest.Parser, ListDataNodesResponse.Parser);
    public static readonly Method<ListReplicasRequest, ListReplicasResponse> ListReplicas = UnaryMethod.Create(ServiceName, "ListReplicas", ListReplicasRequest.Parser, ListReplicasResponse.Parser);
}

internal static class UnaryMethod
{
    public static Method<TRequest, TResponse> Create<TRequest, TResponse>(string service, string name, Google.Protobuf.MessageParser<TRequest> request, Google.Protobuf.MessageParser<TResponse> response)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse>
        => new(MethodType.Unary, service, name, request, response);
}
