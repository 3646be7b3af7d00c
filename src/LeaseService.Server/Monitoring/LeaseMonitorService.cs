namespace LeaseService.Server.Monitoring;

/// <summary>
/// The monitor's hosted loop, a thin shell: per tick of a periodic timer on the lease clock, one
/// pass, and more soon after while a pass leaves a backlog (<see cref="LeaseMonitor.RunUntilCaughtUpAsync"/>).
/// The timer is created when the host starts, so the first tick is one interval after start-up
/// whichever thread runs the loop.
/// </summary>
internal sealed class LeaseMonitorService(LeaseMonitor monitor, TimeProvider timeProvider) : BackgroundService
{
    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(monitor.Interval, timeProvider);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = _timer!;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await monitor.RunUntilCaughtUpAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
