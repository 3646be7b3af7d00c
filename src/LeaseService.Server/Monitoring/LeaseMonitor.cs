using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Server.Options;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Monitoring;

/// <summary>
/// One monitor pass: <see cref="LeaseManager.RunMonitorPass"/> within its budget, logged, measured,
/// and never thrown out of (a failed pass is logged and counted). <see cref="LeaseMonitorService"/>
/// runs it per tick; on the manual test clock the TestClock service does. Meter
/// <see cref="MeterName"/>: pass duration, budget overruns and failed passes.
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

    /// <summary>How often a pass runs.</summary>
    public TimeSpan Interval => _options.MonitorInterval;

    public async Task RunPassAsync()
    {
        var start = timeProvider.GetTimestamp();
        try
        {
            var result = await manager.RunMonitorPassAsync(_options.MaxMonitorWorkPerPass).ConfigureAwait(false);
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
