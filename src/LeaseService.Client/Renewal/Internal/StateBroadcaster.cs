using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// Carries out a <see cref="TableEffects"/>: aborts registrations first (writers stop), then logs
/// each transition and streams it to every subscriber. Each subscriber has a bounded buffer that
/// drops its oldest change when full: the renewal task never waits for a reader. Never called
/// under the renewer's lock; has its own for the subscriber list.
/// </summary>
internal sealed class StateBroadcaster(string renewer, int capacity, TimeProvider timeProvider, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly List<Channel<LeaseStateChange>> _watchers = [];
    private bool _completed;

    /// <summary>A new subscriber's channel; null once <see cref="Complete"/> was called.</summary>
    public Channel<LeaseStateChange>? Subscribe()
    {
        var channel = Channel.CreateBounded<LeaseStateChange>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_lock)
        {
            if (_completed)
            {
                return null;
            }

            _watchers.Add(channel);
        }

        return channel;
    }

    public void Unsubscribe(Channel<LeaseStateChange> channel)
    {
        lock (_lock)
        {
            _watchers.Remove(channel);
        }
    }

    /// <summary>Aborts first (writers stop), then tells the subscribers.</summary>
    public void Publish(TableEffects effects)
    {
        foreach (var (registration, reason) in effects.Aborts)
        {
            registration.Abort(reason);
        }

        if (effects.Transitions.Count == 0)
        {
            return;
        }

        Channel<LeaseStateChange>[] watchers;
        lock (_lock)
        {
            watchers = [.. _watchers];
        }

        var at = timeProvider.GetUtcNow();
        foreach (var t in effects.Transitions)
        {
            if (t.Current == LeaseHolderState.Lost)
            {
                RenewerLog.Lost(logger, renewer, t.Holder, t.Reason, t.AbortedPaths.Count);
            }
            else if (t.Previous != t.Current)
            {
                RenewerLog.StateChanged(logger, renewer, t.Holder, t.Previous, t.Current);
            }

            var change = new LeaseStateChange(t.Holder, t.Previous, t.Current, t.Reason, t.AbortedPaths, at, t.Error);
            foreach (var watcher in watchers)
            {
                watcher.Writer.TryWrite(change);
            }
        }
    }

    /// <summary>Ends every subscription; later subscribers get none.</summary>
    public void Complete()
    {
        Channel<LeaseStateChange>[] watchers;
        lock (_lock)
        {
            _completed = true;
            watchers = [.. _watchers];
        }

        foreach (var watcher in watchers)
        {
            watcher.Writer.TryComplete();
        }
    }
}
