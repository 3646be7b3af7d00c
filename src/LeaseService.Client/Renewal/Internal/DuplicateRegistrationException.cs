namespace LeaseService.Client.Renewal.Internal;

/// <summary>
/// The holder already has a live registration of the path in this renewer: the path belongs to
/// another writer of this process, so whoever tried to register it must not give it back.
/// </summary>
internal sealed class DuplicateRegistrationException(string message) : InvalidOperationException(message);
