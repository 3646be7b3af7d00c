using System.Threading.Channels;
using LeaseService.Rpc.AspNetCore.Internal.Health;
using LeaseService.Rpc.AspNetCore.Internal.Logging;
using LeaseService.Rpc.Health.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ServingStatus = LeaseService.Rpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace LeaseService.Rpc.AspNetCore;

/// <summary>
/// The statuses behind <c>grpc.health.v1.Health</c> (Check and Watch). Service <c>""</c> is the
/// whole server and starts SERVING; other names are unknown until <see cref="SetStatus"/> is called.
/// Once the application starts stopping every status is NOT_SERVING and further changes are ignored.
/// </summary>
public sealed class HealthService
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal) { [string.Empty] = ServingStatus.Serving };
    private readonly Dictionary<string, List<HealthWatcher>> _watchers = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private bool _shutdown;

    /// <summary>Creates the registry without logging.</summary>
    public HealthService()
        : this(NullLogger<HealthService>.Instance)
    {
    }

    /// <summary>Creates the registry.</summary>
    public HealthService(ILogger<HealthService> logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
    }

    /// <summary>Sets the status of <paramref name="service"/> (<c>""</c> = whole server) and notifies its watchers if it changed.</summary>
    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        bool changed;
        bool ignored;
        lock (_gate)
        {
            ignored = _shutdown;
            changed = !ignored && (!_statuses.TryGetValue(service, out var old) || old != status);
            if (changed)
            {
                _statuses[service] = status;
                Notify(service, status);
            }
        }

        if (ignored)
        {
            ServerLog.HealthStatusIgnored(_logger, service, status.ToString());
        }
        else if (changed)
        {
            ServerLog.HealthStatusChanged(_logger, service, status.ToString());
        }
    }

    /// <summary>The status of <paramref name="service"/>, or null if it was never set.</summary>
    public ServingStatus? GetStatus(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            return _statuses.TryGetValue(service, out var status) ? status : null;
        }
    }

    /// <summary>Every known status becomes NOT_SERVING and is pushed; then Watch streams end (UNAVAILABLE).</summary>
    internal void EnterShutdown()
    {
        lock (_gate)
        {
            if (_shutdown)
            {
                return;
            }

            _shutdown = true;
            foreach (var service in _statuses.Keys.ToArray())
            {
                if (_statuses[service] != ServingStatus.NotServing)
                {
                    _statuses[service] = ServingStatus.NotServing;
                    Notify(service, ServingStatus.NotServing);
                }
            }

            foreach (var list in _watchers.Values)
            {
                foreach (var watcher in list)
                {
                    watcher.Complete();
                }
            }
        }
    }

    internal ValueTask<HealthCheckResponse> CheckAsync(HealthCheckRequest request, ServerCallContext context)
    {
        var status = GetStatus(request.Service)
            ?? throw new RpcException(StatusCode.NotFound, "Service '" + request.Service + "' is unknown.");
        return ValueTask.FromResult(new HealthCheckResponse { Status = status });
    }

    internal async Task WatchAsync(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> writer, ServerCallContext context)
    {
        var service = request.Service;
        var watcher = Subscribe(service, out var last);
        try
        {
            var token = context.CancellationToken;
            await writer.WriteAsync(new HealthCheckResponse { Status = last }, token).ConfigureAwait(false);
            var reader = watcher.Reader;
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var status))
                {
                    if (status != last)
                    {
                        last = status;
                        await writer.WriteAsync(new HealthCheckResponse { Status = status }, token).ConfigureAwait(false);
                    }
                }
            }

            throw new RpcException(StatusCode.Unavailable, "Server is shutting down");
        }
        finally
        {
            Unsubscribe(service, watcher);
        }
    }

    private HealthWatcher Subscribe(string service, out ServingStatus current)
    {
        var watcher = new HealthWatcher();
        lock (_gate)
        {
            current = _statuses.TryGetValue(service, out var status) ? status : ServingStatus.ServiceUnknown;
            if (_shutdown)
            {
                watcher.Complete();
                return watcher;
            }

            if (!_watchers.TryGetValue(service, out var list))
            {
                list = [];
                _watchers[service] = list;
            }

            list.Add(watcher);
        }

        return watcher;
    }

    private void Unsubscribe(string service, HealthWatcher watcher)
    {
        lock (_gate)
        {
            if (_watchers.TryGetValue(service, out var list) && list.Remove(watcher) && list.Count == 0)
            {
                _watchers.Remove(service);
            }
        }
    }

    private void Notify(string service, ServingStatus status)
    {
        // Caller holds _gate, so every watcher sees changes in the order they were made.
        if (_watchers.TryGetValue(service, out var list))
        {
            foreach (var watcher in list)
            {
                watcher.Push(status);
            }
        }
    }
}
