namespace LeaseService.DataNodes;

/// <summary>A snapshot of one simulated DataNode.</summary>
/// <param name="DataNodeId">Its id ("dn-1", "dn-2", ...).</param>
/// <param name="Running">Whether it is up; a stopped DataNode refuses every call.</param>
/// <param name="Paused">Whether it is partitioned: it accepts calls and answers none until resumed.</param>
/// <param name="ReplicaCount">How many replicas it holds.</param>
public sealed record SimulatedDataNodeInfo(string DataNodeId, bool Running, int ReplicaCount, bool Paused = false);
