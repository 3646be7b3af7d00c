using Microsoft.Extensions.Logging;

namespace LeaseService.Client.Renewal.Internal;

/// <summary>Log events of the lease renewer (ids 4100–4199).</summary>
internal static partial class RenewerLog
{
    [LoggerMessage(4100, LogLevel.Debug, "{Renewer} started")]
    public static partial void Started(ILogger logger, string renewer);

    [LoggerMessage(4101, LogLevel.Debug, "{Renewer} stopped: no open paths for the grace period of {GracePeriod}")]
    public static partial void StoppedIdle(ILogger logger, string renewer, TimeSpan gracePeriod);

    [LoggerMessage(4102, LogLevel.Warning, "{Renewer}: failed to renew the lease of {Holder} ({Failures} in a row, {Remaining} of validity left). Will retry shortly")]
    public static partial void RenewFailed(ILogger logger, string renewer, string holder, int failures, TimeSpan remaining, Exception exception);

    [LoggerMessage(4103, LogLevel.Information, "{Renewer}: lease of {Holder} went from {Previous} to {Current}")]
    public static partial void StateChanged(ILogger logger, string renewer, string holder, LeaseHolderState previous, LeaseHolderState current);

    [LoggerMessage(4104, LogLevel.Error, "{Renewer}: lease of {Holder} lost ({Reason}); aborting {Count} open path(s)")]
    public static partial void Lost(ILogger logger, string renewer, string holder, LeaseAbortReason reason, int count);

    [LoggerMessage(4105, LogLevel.Warning, "{Renewer}: the server renewed {Renewed} path(s) of {Holder} but {Expected} are open here; checking which were taken")]
    public static partial void RenewedFewer(ILogger logger, string renewer, string holder, int renewed, int expected);

    [LoggerMessage(4106, LogLevel.Error, "{Renewer}: path {Path} of {Holder} is no longer held by it; aborting it")]
    public static partial void Revoked(ILogger logger, string renewer, string holder, string path);

    [LoggerMessage(4109, LogLevel.Debug, "{Renewer}: failed to renew the lease of {Holder} ({Failures} in a row, {Remaining} of validity left). Will retry shortly")]
    public static partial void RenewFailedAgain(ILogger logger, string renewer, string holder, int failures, TimeSpan remaining, Exception exception);

    [LoggerMessage(4107, LogLevel.Error, "{Renewer}: a renewal pass failed")]
    public static partial void PassFailed(ILogger logger, string renewer, Exception exception);

    [LoggerMessage(4108, LogLevel.Warning, "{Renewer}: a renewal of {Holder} took {Elapsed}, more than a third of its period {Period}")]
    public static partial void SlowRenewal(ILogger logger, string renewer, string holder, TimeSpan elapsed, TimeSpan period);
}
