namespace LeaseService.DataNodes.Internal.Nodes;

/// <summary>
/// One client write's stream through a block's pipeline (HDFS's BlockReceiver on each DataNode):
/// a DataNode takes one stream per replica, from the pipeline's setup until the stream ends. A
/// claim of an ended stream counts for nothing, so a setup call that reaches a DataNode after its
/// caller gave up (timed out) cannot keep the replica claimed.
/// </summary>
internal sealed class WriteStream
{
    private volatile bool _ended;

    public bool Ended => _ended;

    /// <summary>The stream is over (written, refused or abandoned): its claims no longer hold.</summary>
    public void End() => _ended = true;
}
