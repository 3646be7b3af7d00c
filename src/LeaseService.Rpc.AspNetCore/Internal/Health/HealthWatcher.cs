using System.Threading.Channels;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.AspNetCore.Internal.Health;

/// <summary>
/// One Watch stream's mailbox: holds at most one status (the latest wins), so a slow reader costs
/// O(1) memory however often the status flips. Completed when the server shuts down.
/// </summary>
internal sealed class HealthWatcher
{
    private readonly Channel<ServingStatus> _channel = Channel.CreateBounded<ServingStatus>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    public ChannelReader<ServingStatus> Reader => _channel.Reader;

    public void Push(ServingStatus status) => _channel.Writer.TryWrite(status);

    public void Complete() => _channel.Writer.TryComplete();
}
