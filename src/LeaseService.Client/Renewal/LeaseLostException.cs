namespace LeaseService.Client.Renewal;

/// <summary>
/// The lease of a path is no longer (safely) held: the operation was not sent. Distinct from
/// <see cref="OperationCanceledException"/> (the caller cancelled) and
/// <see cref="ObjectDisposedException"/> (the writer or renewer was disposed).
/// </summary>
public sealed class LeaseLostException : Exception
{
    /// <summary>The lease of <paramref name="path"/> held by <paramref name="holder"/> is lost or in doubt, for <paramref name="reason"/>.</summary>
    public LeaseLostException(string holder, string path, LeaseAbortReason reason, Exception? innerException = null)
        : base($"The lease of '{path}' held by '{holder}' is lost or in doubt: {Describe(reason)}.", innerException)
    {
        Holder = holder;
        Path = path;
        Reason = reason;
    }

    /// <summary>A lease is lost (no details).</summary>
    public LeaseLostException()
        : this(string.Empty, string.Empty, LeaseAbortReason.None)
    {
    }

    /// <summary>A lease is lost, as <paramref name="message"/> says.</summary>
    public LeaseLostException(string message)
        : base(message)
    {
        Holder = string.Empty;
        Path = string.Empty;
    }

    /// <summary>A lease is lost, as <paramref name="message"/> says, because of <paramref name="innerException"/>.</summary>
    public LeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
        Holder = string.Empty;
        Path = string.Empty;
    }

    /// <summary>The holder that lost the lease.</summary>
    public string Holder { get; }

    /// <summary>The path.</summary>
    public string Path { get; }

    /// <summary>Why.</summary>
    public LeaseAbortReason Reason { get; }

    internal static string Describe(LeaseAbortReason reason) => reason switch
    {
        LeaseAbortReason.ValidityExpired => "the validity bound passed before a renewal succeeded",
        LeaseAbortReason.HolderNotFound => "the server no longer knows the holder (NOT_FOUND)",
        LeaseAbortReason.HardLimitExceeded => "no renewal succeeded for the hard limit",
        LeaseAbortReason.Revoked => "the server no longer lists the path under the holder",
        LeaseAbortReason.Fenced => "a write was fenced by a newer epoch or generation stamp",
        LeaseAbortReason.Unregistered => "the path was closed or aborted",
        LeaseAbortReason.RenewerDisposed => "the lease renewer was disposed",
        _ => "unknown",
    };
}
