using System.Diagnostics;
using System.Diagnostics.Metrics;
using LeaseService.Core;
using LeaseService.Server.Rpc;

namespace LeaseService.Server.Security;

/// <summary>Why a call was refused: the <c>reason</c> label of the denial metric.</summary>
internal static class DenialReason
{
    /// <summary>No valid credentials (missing, expired, bad signature, wrong audience or issuer, unsigned): UNAUTHENTICATED.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>A control service (DataNodeSimulator, TestClock) called by a principal that is not an admin.</summary>
    public const string AdminRequired = "admin_required";

    /// <summary>RecoverLease with force by a principal that is not an admin.</summary>
    public const string ForceRequiresAdmin = "force_requires_admin";

    /// <summary>AddLease on a path outside the principal's <c>Authorization:PathRules</c>.</summary>
    public const string PathRule = "path_rule";

    /// <summary>A holder name another principal owns.</summary>
    public const string HolderOwnedByAnother = "holder_owned_by_another";
}

/// <summary>
/// Every refused call: a Warning (events 6001–6002) with principal, method, path and holder, and
/// <c>leaseservice.authorization.denials</c> (meter <c>LeaseService.Rpc</c>) counted by reason and method.
/// </summary>
internal sealed partial class AccessDenials
{
    private readonly Counter<long> _denials;
    private readonly ILogger<AccessDenials> _logger;

    public AccessDenials(IMeterFactory meterFactory, ILogger<AccessDenials> logger)
    {
        _logger = logger;
        _denials = meterFactory.Create(CallInstruments.MeterName).CreateCounter<long>(
            "leaseservice.authorization.denials",
            "{call}",
            "Calls refused by authentication or authorization, by reason and method.");
    }

    /// <param name="why">For <see cref="DenialReason.Unauthenticated"/>: why the credentials were refused, as the authentication handler said (never sent to the caller).</param>
    public void Record(string? principal, string method, string? path, string? holder, string reason, string? why = null)
    {
        _denials.Add(1, new TagList { { "reason", reason }, { "rpc.method", method } });
        if (reason == DenialReason.Unauthenticated)
        {
            LogUnauthenticated(method, why is null ? "no credentials presented" : LeaseValidation.Echo(why));
        }
        else
        {
            // Echoed (cut), as in messages: a refused request's path may be any length.
            LogDenied(method, principal ?? "(anonymous)", path is null ? "-" : LeaseValidation.Echo(path), holder is null ? "-" : LeaseValidation.Echo(holder), reason);
        }
    }

    [LoggerMessage(6001, LogLevel.Warning, "Denied {Method} to {Principal} on path {Path} (holder {Holder}): {Reason}")]
    private partial void LogDenied(string method, string principal, string path, string holder, string reason);

    [LoggerMessage(6002, LogLevel.Warning, "Denied {Method}: no valid credentials: {Why}")]
    private partial void LogUnauthenticated(string method, string why);
}
