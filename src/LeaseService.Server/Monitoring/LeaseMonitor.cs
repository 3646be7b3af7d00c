using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Server.Options;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Monitoring;

/// <summary>
/// The monitor's passes: <see cref="LeaseManager.RunMonitorPassAsync"/> within its budget (the
/// manager logs each pass that did work), measured, and never thrown out of (a failed pass is
/// logged and counted). While a pass leaves a backlog (its budget spent with work left) the next
/// one follows after a pause as long as the pass's time under the lock, instead of a full interval later.
/// <see cref="LeaseMonitorService"/> runs them per tick; on the manual test clock the TestClock
/// service does. Meter <see cref="MeterName"/>: pass duration, budget overruns and failed passes.
/// </summary>
internal sealed partial class LeaseMonitor(
    LeaseManager manager,
    IOptions<LeaseOptions> options,
    TimeProvider timeProvider,
    IMeterFactory meterFactory,
    ILogger<LeaseMonitor> logger)
{
    /// <summary>The meter of the monitor's instruments.</summary>
    public const string MeterName = "LeaseService.Server";

    /// <summary>Pass duration buckets in seconds: 10 µs to 1 s, around the default 25 ms budget.</summary>
    internal static readonly double[] PassDurationBounds =
        [0.00001, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    private readonly LeaseOptions _options = options.Value;
    private readonly Instruments _instruments = new(meterFactory.Create(MeterName));

    /// <summary>How often a pass runs when the previous one left no backlog.</summary>
    public TimeSpan Interval => _options.MonitorInterval;

    /// <summary>
    /// Runs one pass, then more while each leaves a backlog, until one does not (or
    /// <paramref name="cancellationToken"/> trips). Returns how many passes ran. Between two passes
    /// of a backlog it pauses, on the real clock, as long as the last pass held the lock (at most
    /// <see cref="LeaseOptions.MaxMonitorWorkPerPass"/>): the
    /// monitor then holds it at most half the time, and the live holders' calls get the rest (at a
    /// million expired files this halved RenewLease's median wait and cost no recovery rate,
    /// docs/PERFORMANCE.md).
    /// </summary>
    public async Task<int> RunUntilCaughtUpAsync(CancellationToken cancellationToken)
    {
        var passes = 1;
        while (await RunPassAsync().ConfigureAwait(false) is { } pause && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            passes++;
        }

        return passes;
    }

    /// <summary>
    /// One pass. When it spent its budget and left work for the next one: the time it held the
    /// lock (the pause before the next); else null.
    /// </summary>
    public async Task<TimeSpan?> RunPassAsync()
    {
        var start = timeProvider.GetTimestamp();
        try
        {
            var result = await manager.RunMonitorPassAsync(_options.MaxMonitorWorkPerPass).ConfigureAwait(false);
            if (!result.BudgetExhausted)
            {
                return null;
            }

            // The pause: the time under the lock, at most the budget (a batch may overrun it).
            var pause = TimeSpan.FromTicks(Math.Min(result.LockHeld.Ticks, _options.MaxMonitorWorkPerPass.Ticks));
            _instruments.BudgetOverruns.Add(1);
            LogBudgetExhausted(_options.MaxMonitorWorkPerPass.TotalMilliseconds, result.BacklogFiles, pause.TotalMilliseconds);
            return pause;
        }
        catch (Exception ex)
        {
            _instruments.PassFailures.Add(1);
            LogPassFailed(ex);
            return null; // Never spin on a failing pass: the next tick tries again.
        }
        finally
        {
            // Every pass, failed ones too.
            _instruments.PassDuration.Record(timeProvider.GetElapsedTime(start).TotalSeconds);
        }
    }

    private sealed class Instruments(Meter meter)
    {
        public Histogram<double> PassDuration { get; } = meter.CreateHistogram<double>(
            "leaseservice.monitor.pass.duration",
            unit: "s",
            description: "Duration of one lease monitor pass (expired leases and overdue block recoveries), failed passes included.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = PassDurationBounds });

        public Counter<long> BudgetOverruns { get; } = meter.CreateCounter<long>(
            "leaseservice.monitor.budget_overruns",
            "{pass}",
            "Monitor passes that spent their whole Leases:MaxMonitorWorkPerPass budget and left work; the next pass follows after a pause as long as the time the pass held the lock.");

        public Counter<long> PassFailures { get; } = meter.CreateCounter<long>(
            "leaseservice.monitor.pass.failures",
            "{pass}",
            "Monitor passes that threw; the monitor keeps running.");
    }

    [LoggerMessage(2002, LogLevel.Debug, "Monitor pass spent its {BudgetMs} ms budget with {Backlog} file(s) past the hard limit left; the next pass starts in {PauseMs} ms")]
    private partial void LogBudgetExhausted(double budgetMs, int backlog, double pauseMs);

    [LoggerMessage(2003, LogLevel.Error, "Monitor pass failed; the monitor keeps running")]
    private partial void LogPassFailed(Exception exception);
}
