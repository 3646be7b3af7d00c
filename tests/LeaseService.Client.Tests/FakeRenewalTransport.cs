using System.Collections.Concurrent;
using LeaseService.Client;
using LeaseService.Client.Renewal.Internal;
using Grpc.Core;
using LeaseService.Testing;

namespace LeaseService.Client.Tests;

/// <summary>
/// A renewal transport the test scripts: each call is recorded with the fake time it was made,
/// and answered by <see cref="Behavior"/> — success, UNAVAILABLE, NOT_FOUND, a transport error, or
/// a reply held until the test releases it.
/// </summary>
internal sealed class FakeRenewalTransport(FakeTimeProvider time) : IRenewalTransport
{
    public static readonly TimeSpan Soft = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Hard = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<(string Holder, long At)> _calls = new();
    private TaskCompletionSource<PendingRenewal> _nextHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public enum Mode
    {
        Succeed,
        Unavailable,
        NotFound,
        TransportError,
        Hold,
    }

    public Mode Behavior { get; set; } = Mode.Succeed;

    /// <summary>Per-holder overrides of <see cref="Behavior"/>.</summary>
    public ConcurrentDictionary<string, Mode> HolderBehavior { get; } = new();

    /// <summary>The soft limit reported on success.</summary>
    public TimeSpan SoftLimit { get; set; } = Soft;

    /// <summary>leases_renewed reported on success (default: plenty, so no revocation check).</summary>
    public int LeasesRenewed { get; set; } = 1000;

    public HashSet<string> HeldPaths { get; } = [];

    public bool Disposed { get; private set; }

    public IReadOnlyList<(string Holder, long At)> Calls => [.. _calls];

    public int CallsFor(string holder) => _calls.Count(c => c.Holder == holder);

    /// <summary>Completes with the next call made while in <see cref="Mode.Hold"/>.</summary>
    public Task<PendingRenewal> NextHeldCall
    {
        get
        {
            lock (_calls)
            {
                return _nextHeld.Task;
            }
        }
    }

    public Task<RenewResult> RenewAsync(string holder, CancellationToken cancellationToken)
    {
        _calls.Enqueue((holder, time.GetTimestamp()));
        var mode = HolderBehavior.TryGetValue(holder, out var m) ? m : Behavior;
        switch (mode)
        {
            case Mode.Succeed:
                return Task.FromResult(new RenewResult(LeasesRenewed, SoftLimit, Hard));
            case Mode.Unavailable:
                return Task.FromException<RenewResult>(new LeaseUnavailableException(new Status(StatusCode.Unavailable, "server shutting down")));
            case Mode.NotFound:
                return Task.FromException<RenewResult>(new LeaseNotFoundException(new Status(StatusCode.NotFound, $"holder {holder} holds no lease")));
            case Mode.TransportError:
                return Task.FromException<RenewResult>(new HttpRequestException("connection reset"));
            default:
                var pending = new PendingRenewal(holder, cancellationToken);
                lock (_calls)
                {
                    var held = _nextHeld;
                    _nextHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
                    held.TrySetResult(pending);
                }

                return pending.Reply.Task;
        }
    }

    /// <summary>When set, listing the holder's paths fails with this (renewals still answer).</summary>
    public Exception? ListFailure { get; set; }

    /// <summary>How many times the holder's paths were listed.</summary>
    public int ListCalls => Volatile.Read(ref _listCalls);

    private int _listCalls;

    public Task<IReadOnlySet<string>> ListHeldPathsAsync(string holder, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _listCalls);
        return ListFailure is { } failure ? Task.FromException<IReadOnlySet<string>>(failure) : Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(HeldPaths));
    }

    public void Dispose() => Disposed = true;
}

internal sealed class PendingRenewal
{
    public PendingRenewal(string holder, CancellationToken cancellationToken)
    {
        Holder = holder;
        cancellationToken.Register(() => Reply.TrySetCanceled(cancellationToken));
    }

    public string Holder { get; }

    public TaskCompletionSource<RenewResult> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Succeed() => Reply.TrySetResult(new RenewResult(1000, FakeRenewalTransport.Soft, FakeRenewalTransport.Hard));
}
