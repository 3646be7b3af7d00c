namespace LeaseService.Cli.Internal;

/// <summary>Exit codes of every <c>lease</c> command (documented in README.md).</summary>
internal static class ExitCodes
{
    /// <summary>The operation succeeded.</summary>
    public const int Success = 0;

    /// <summary>The operation failed: not found, gave up, conflict, not closed yet.</summary>
    public const int Failed = 1;

    /// <summary>Usage error: bad arguments, missing server, a request the server calls invalid.</summary>
    public const int Usage = 2;

    /// <summary>The server could not be reached, or did not answer within the call's deadline (<c>--timeout</c>).</summary>
    public const int Unreachable = 3;
}
