using System.Net.Sockets;
using System.Security.Cryptography;
using LeaseService.Core.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Hosting;

/// <summary>
/// Start-up failures a user causes and can fix, turned into one line that names the cause and the
/// key to change. Anything else is a bug and keeps its stack trace.
/// </summary>
internal static class StartupFailure
{
    /// <summary>The exit code of invalid configuration.</summary>
    public const int ExitCode = 2;

    private const string UrlsKeys = ListenAddresses.UrlsKeys;

    /// <summary>The line to print, or null when <paramref name="exception"/> is not a user's mistake.</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        StartupException e => e.Message,
        LeaseStoreException e => $"Cannot use the lease store: {e.Message}",
        OptionsValidationException e => $"Invalid configuration: {string.Join(" ", e.Failures)}",
        IOException e when IsAddressInUse(e) => $"Cannot listen: {e.Message} Stop what holds the port or change {UrlsKeys}.",
        IOException e when e.InnerException is SocketException s =>
            $"Cannot listen: {e.Message} ({s.SocketErrorCode}). Change {UrlsKeys}.",
        // Kestrel passes other bind failures on as they are, e.g. an address this machine does not have.
        SocketException e => $"Cannot listen: {e.Message} ({e.SocketErrorCode}){Explain(e.SocketErrorCode)}. Change {UrlsKeys}.",
        FileNotFoundException e => $"Invalid configuration: {e.Message} Check the certificate settings (Kestrel:Certificates, Kestrel:Endpoints:*:Certificate).",
        CryptographicException e => $"Invalid configuration: the certificate cannot be read: {e.Message} Check Kestrel:Certificates or Kestrel:Endpoints:*:Certificate.",
        FormatException e => $"Invalid configuration: {e.Message} Check {UrlsKeys}.",
        InvalidOperationException e when e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase)
            // Binding errors name the key, e.g. "Failed to convert configuration value at 'Leases:SoftLimit'".
            => $"Invalid configuration: {e.Message}",
        InvalidOperationException e when e.Message.Contains("url", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("certificate", StringComparison.OrdinalIgnoreCase)
            || e.Message.Contains("endpoint", StringComparison.OrdinalIgnoreCase)
            => $"Invalid configuration: {e.Message} Check {UrlsKeys} and the certificate settings.",
        AggregateException { InnerExceptions: [var inner] } => Describe(inner),
        _ => null,
    };

    /// <summary>What a bind failure means for the operator, after its message; empty when the message says it.</summary>
    public static string Explain(SocketError error) => error switch
    {
        SocketError.AddressNotAvailable => ": no network interface of this machine has that address",
        _ => string.Empty,
    };

    public static bool IsAddressInUse(Exception exception)
        => exception is AddressInUseException || exception.InnerException is AddressInUseException
            || (exception.InnerException is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse });
}

/// <summary>A start-up failure whose message already names the cause and the key to change.</summary>
internal sealed class StartupException(string message, Exception? innerException = null) : Exception(message, innerException);
