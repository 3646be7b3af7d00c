using LeaseService.Core;
using LeaseService.Server.Options;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Monitoring;

/// <summary>
/// The lease monitor: a thin shell that runs one <see cref="LeaseManager.RunMonitorPass"/> per
/// tick of a periodic timer on the injected clock, logs and survives any exception, and warns
/// when a pass spends its whole budget.
/// </summary>
internal sealed partial class LeaseMonitor(
    LeaseManager manager,
    IOptions<LeaseOptions> options,
    TimeProvider timeProvider,
    ILogger<LeaseMonitor> logger) : BackgroundService
{
    private readonly LeaseOptions _options = options.Value;
    private TaskCompletionSource _passCompleted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly TaskCompletionSource _timerStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once the periodic timer exists, so a test's clock advance reaches it.</summary>
    internal Task TimerStarted => _timerStarted.Task;

    /// <summary>Completes when the next pass ends (tests advance a fake clock, then await this).</summary>
    internal Task NextPassCompleted => Volatile.Read(ref _passCompleted).Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.MonitorInterval, timeProvider);
        _timerStarted.TrySetResult();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                RunPass();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    internal void RunPass()
    {
        try
        {
            var result = manager.RunMonitorPass(_options.MaxMonitorWorkPerPass);
            if (result.BudgetExhausted)
            {
                LogBudgetExhausted(_options.MaxMonitorWorkPerPass.TotalMilliseconds, result.LeasesExamined);
            }
            else if (result.LeasesExamined > 0 || result.RecoveriesRetried > 0)
            {
                LogPass(result.LeasesExamined, result.FilesClosed, result.RecoveriesStarted, result.RecoveriesRetried);
            }
        }
        catch (Exception ex)
        {
            LogPassFailed(ex);
        }
        finally
        {
            Interlocked.Exchange(ref _passCompleted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    [LoggerMessage(2001, LogLevel.Debug, "Monitor pass: {Leases} expired lease(s), {Closed} file(s) closed, {Started} recovery(ies) started, {Retried} retried")]
    private partial void LogPass(int leases, int closed, int started, int retried);

    [LoggerMessage(2002, LogLevel.Warning, "Monitor pass spent its {BudgetMs} ms budget after {Leases} lease(s); the rest waits for the next pass")]
    private partial void LogBudgetExhausted(double budgetMs, int leases);

    [LoggerMessage(2003, LogLevel.Error, "Monitor pass failed; the monitor keeps running")]
    private partial void LogPassFailed(Exception exception);
}
