namespace LeaseService.Core.Storage;

/// <summary>
/// The store cannot be opened or read: corrupt, unreadable, no permission, or written by a newer
/// format version. The message names the location and the reason; the server refuses to start.
/// </summary>
public sealed class LeaseStoreException : Exception
{
    public LeaseStoreException()
    {
    }

    public LeaseStoreException(string message)
        : base(message)
    {
    }

    public LeaseStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
