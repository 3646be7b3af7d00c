using System.Diagnostics.Metrics;
using LeaseService.Core.Storage;

namespace LeaseService.Core;

// Instruments of the "LeaseService.Core" meter. Every instrument is observable: the totals are
// kept in LeaseCounters under the lock and the gauges read GetStatistics(), so recording costs
// nothing on RenewLease and no measurement callback ever runs under the lock. The exporter pulls
// the values at scrape time. Names follow OpenTelemetry conventions; docs/OPERATIONS.md lists
// them with their Prometheus names.
public sealed partial class LeaseManager
{
    /// <summary>The name of the meter the manager's instruments belong to.</summary>
    public const string MeterName = "LeaseService.Core";

    private Histogram<double>? _batchDuration;

    private void CreateInstruments(Meter meter)
    {
        meter.CreateObservableUpDownCounter("leaseservice.leases", () => GetStatistics().Holders, "{lease}",
            "Leases: holders with at least one file open for write.");
        meter.CreateObservableUpDownCounter("leaseservice.files.open", () => GetStatistics().OpenFiles, "{file}",
            "Files open for write (under construction), each covered by its holder's lease.");
        meter.CreateObservableUpDownCounter("leaseservice.files", () => GetStatistics().Files, "{file}",
            "Files in the namespace, open or closed.");
        meter.CreateObservableUpDownCounter("leaseservice.files.in_memory", () => GetStatistics().FilesInMemory, "{file}",
            "Files held in memory: the open ones, and closed ones until their record is durable (the rest are read from the store when needed).");
        meter.CreateObservableUpDownCounter("leaseservice.recoveries.backlog", () => GetStatistics().Recovering, "{file}",
            "Files whose block recovery has not finished (in flight or waiting for a retry).");
        meter.CreateObservableGauge("leaseservice.lease.oldest_overdue_age", () => OldestOverdueSeconds(), "s",
            "How far the oldest lease is past the hard limit (0 when none is). Stays below the monitor interval while the monitor keeps up.");
        meter.CreateObservableUpDownCounter("leaseservice.lease.overdue_files", () => OverdueFiles(), "{file}",
            "Open files whose lease is past the hard limit and that the monitor has not yet taken into recovery (its backlog).");

        meter.CreateObservableCounter("leaseservice.lease.grants", () => Volatile.Read(ref _counters.Grants), "{grant}",
            "Leases granted on a path by AddLease (new file, append, or after a soft-limit takeover).");
        meter.CreateObservableCounter("leaseservice.lease.renewals", () => Volatile.Read(ref _counters.Renewals), "{renewal}",
            "Successful RenewLease calls (each renews every path of the holder).");
        meter.CreateObservableCounter("leaseservice.lease.releases", () => Volatile.Read(ref _counters.Releases), "{release}",
            "Files closed by their holder (RemoveLease returned closed), releasing the lease on them.");
        meter.CreateObservableCounter("leaseservice.lease.expiries", () => Volatile.Read(ref _counters.Expiries), "{file}",
            "Files whose lease passed the hard limit and that the monitor took into lease recovery.");
        meter.CreateObservableCounter("leaseservice.lease.takeovers", () => Volatile.Read(ref _counters.Takeovers), "{file}",
            "Files recovered on another writer's AddLease after the holder passed the soft limit.");
        meter.CreateObservableCounter("leaseservice.files.deletes", () => Volatile.Read(ref _counters.Deletes), "{file}",
            "Files removed by DeleteFile (with their blocks and any lease on them).");
        meter.CreateObservableCounter("leaseservice.lease.recovery_requests", () => Volatile.Read(ref _counters.RecoveryRequests), "{request}",
            "RecoverLease calls that started lease recovery (or closed the file) on an open file.");

        meter.CreateObservableCounter("leaseservice.recoveries.started", () => Volatile.Read(ref _counters.RecoveriesStarted), "{recovery}",
            "Block recoveries started: the first attempt for a file whose last block must be recovered.");
        meter.CreateObservableCounter("leaseservice.recoveries.retried", () => Volatile.Read(ref _counters.RecoveriesRetried), "{attempt}",
            "Block-recovery attempts after the first (the previous attempt was older than the recovery timeout).");
        meter.CreateObservableCounter("leaseservice.recoveries.succeeded", () => Volatile.Read(ref _counters.RecoveriesSucceeded), "{recovery}",
            "Block recoveries committed by their primary DataNode; the file closed.");
        meter.CreateObservableCounter("leaseservice.recoveries.failed", () => Volatile.Read(ref _counters.RecoveriesFailed), "{attempt}",
            "Block-recovery attempts that failed (reported by the primary, primary unreachable, or no live replica); each is retried after the recovery timeout.");
    }

    private void CreateStorageInstruments(Meter meter)
    {
        meter.CreateObservableCounter("leaseservice.storage.batches", () => Volatile.Read(ref _counters.StorageBatches), "{batch}",
            "Synced batches written to the store by the group-commit writer.");
        meter.CreateObservableCounter("leaseservice.storage.records", () => Volatile.Read(ref _counters.StorageRecords), "{record}",
            "Records written to the store (file and counter records); records per batch = records / batches.");
        _batchDuration = meter.CreateHistogram<double>(
            "leaseservice.storage.batch.duration",
            unit: "s",
            description: "Duration of one synced batch write (group commit) to the store.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        meter.CreateObservableGauge("leaseservice.storage.healthy", () => StorageStatus == StorageStatus.Healthy ? 1 : 0, "{state}",
            "1 while the state is loaded and every write so far is durable; 0 while loading or after a failed write.");
    }

    private int OverdueFiles()
    {
        lock (_lock)
        {
            return _leases.CountOverdueFiles(_time.GetTimestamp() - _hardLimit);
        }
    }

    private double OldestOverdueSeconds()
    {
        var overdue = GetStatistics().OldestLeaseAge - _options.HardLimit;
        return overdue > TimeSpan.Zero ? overdue.TotalSeconds : 0;
    }
}
