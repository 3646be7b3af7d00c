namespace LeaseService.Core.Storage;

/// <summary>
/// The store cannot be opened or read: corrupt, unreadable, no permission, or written by a newer
/// format version. The message names the location and the reason; the server refuses to start.
/// </summary>
public sealed class LeaseStoreException : Exception
{
    /// <summary>A store failure with no message.</summary>
    public LeaseStoreException()
    {
    }

    /// <summary>A store failure; <paramref name="message"/> names the location and the reason.</summary>
    public LeaseStoreException(string message)
        : base(message)
    {
    }

    /// <summary>A store failure caused by <paramref name="innerException"/>.</summary>
    public LeaseStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
