using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Server.Options;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Monitoring;

/// <summary>
/// The lease monitor: a thin shell that runs one <see cref="LeaseManager.RunMonitorPass"/> per
/// tick of a periodic timer on the injected clock, logs and survives any exception, and warns
/// when a pass spends its whole budget. Meter <see cref="MeterName"/>: pass duration, budget
/// overruns and failed passes.
/// </summary>
internal sealed partial class LeaseMonitor(
    LeaseManager manager,
    IOptions<LeaseOptions> options,
    TimeProvider timeProvider,
    IMeterFactory meterFactory,
    ILogger<LeaseMonitor> logger) : BackgroundService
{
    /// <summary>The meter of the monitor's instruments.</summary>
    public const string MeterName = "LeaseService.Server";

    /// <summary>Pass duration buckets in seconds: 10 µs to 1 s, around the default 25 ms budget.</summary>
    internal static readonly double[] PassDurationBounds =
        [0.00001, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private readonly LeaseOptions _options = options.Value;
    private readonly Instruments _instruments = new(meterFactory.Create(MeterName));
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
                await RunPassAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    internal async Task RunPassAsync()
    {
        var start = timeProvider.GetTimestamp();
        try
        {
            var result = await manager.RunMonitorPassAsync(_options.MaxMonitorWorkPerPass).ConfigureAwait(false);
            _instruments.PassDuration.Record(timeProvider.GetElapsedTime(start).TotalSeconds);
            if (result.BudgetExhausted)
            {
                _instruments.BudgetOverruns.Add(1);
                LogBudgetExhausted(_options.MaxMonitorWorkPerPass.TotalMilliseconds, result.LeasesExamined);
            }
            else if (result.LeasesExamined > 0 || result.RecoveriesRetried > 0)
            {
                LogPass(result.LeasesExamined, result.FilesClosed, result.RecoveriesStarted, result.RecoveriesRetried);
            }
        }
        catch (Exception ex)
        {
            _instruments.PassFailures.Add(1);
            LogPassFailed(ex);
        }
        finally
        {
            Interlocked.Exchange(ref _passCompleted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private sealed class Instruments(Meter meter)
    {
        public Histogram<double> PassDuration { get; } = meter.CreateHistogram<double>(
            "leaseservice.monitor.pass.duration",
            unit: "s",
            description: "Duration of one lease monitor pass (expired leases and overdue block recoveries).",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PassDurationBounds });

        public Counter<long> BudgetOverruns { get; } = meter.CreateCounter<long>(
            "leaseservice.monitor.budget_overruns",
            "{pass}",
            "Monitor passes that spent their whole Leases:MaxMonitorWorkPerPass budget and left work for the next pass.");

        public Counter<long> PassFailures { get; } = meter.CreateCounter<long>(
            "leaseservice.monitor.pass.failures",
            "{pass}",
            "Monitor passes that threw; the monitor keeps running.");
    }

    [LoggerMessage(2001, LogLevel.Debug, "Monitor pass: {Leases} expired lease(s), {Closed} file(s) closed, {Started} recovery(ies) started, {Retried} retried")]
    private partial void LogPass(int leases, int closed, int started, int retried);

    [LoggerMessage(2002, LogLevel.Warning, "Monitor pass spent its {BudgetMs} ms budget after {Leases} lease(s); the rest waits for the next pass")]
    private partial void LogBudgetExhausted(double budgetMs, int leases);

    [LoggerMessage(2003, LogLevel.Error, "Monitor pass failed; the monitor keeps running")]
    private partial void LogPassFailed(Exception exception);
}
