using Microsoft.Extensions.Logging;

namespace LeaseService.Rpc.AspNetCore.Internal.Logging;

/// <summary>Wire-server log events (ids 1–49). Nothing here logs above Debug for a normal call.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Error when executing service method '{Method}'.")]
    public static partial void HandlerThrew(ILogger logger, string method, Exception exception);

    [LoggerMessage(2, LogLevel.Information, "Call to '{Method}' was aborted by the client.")]
    public static partial void CallAborted(ILogger logger, string method);

    [LoggerMessage(3, LogLevel.Debug, "Deadline of {Timeout} exceeded for '{Method}'.")]
    public static partial void DeadlineExceeded(ILogger logger, string method, TimeSpan timeout);

    [LoggerMessage(4, LogLevel.Debug, "Invalid grpc-timeout value '{Value}' ignored; the call has no deadline.")]
    public static partial void InvalidTimeout(ILogger logger, string value);

    [LoggerMessage(5, LogLevel.Debug, "Call to '{Method}' ended with status {StatusCode}: {Detail}")]
    public static partial void RpcError(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(6, LogLevel.Debug, "No method at path '{Path}'.")]
    public static partial void MethodNotFound(ILogger logger, string path);

    [LoggerMessage(7, LogLevel.Debug, "Content-Type '{ContentType}' is not supported.")]
    public static partial void UnsupportedContentType(ILogger logger, string? contentType);

    [LoggerMessage(8, LogLevel.Debug, "HTTP method '{HttpMethod}' is not supported.")]
    public static partial void UnsupportedHttpMethod(ILogger logger, string httpMethod);

    [LoggerMessage(9, LogLevel.Debug, "Protocol '{Protocol}' is not supported; gRPC requires HTTP/2.")]
    public static partial void UnsupportedProtocol(ILogger logger, string protocol);

    [LoggerMessage(10, LogLevel.Information, "Application is stopping: the gRPC server is draining.")]
    public static partial void Draining(ILogger logger);

    [LoggerMessage(11, LogLevel.Debug, "Call to '{Method}' rejected: the server is shutting down.")]
    public static partial void RejectedWhileDraining(ILogger logger, string method);

    [LoggerMessage(12, LogLevel.Debug, "Error while completing '{Method}' after its deadline.")]
    public static partial void DeadlineCompletionFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(30, LogLevel.Debug, "{Method} finished with {Status} in {ElapsedMs} ms for {Peer}")]
    public static partial void CallFinished(ILogger logger, string method, StatusCode status, double elapsedMs, string peer);

    [LoggerMessage(20, LogLevel.Information, "Health status of '{Service}' is now {Status}.")]
    public static partial void HealthStatusChanged(ILogger logger, string service, string status);

    [LoggerMessage(21, LogLevel.Debug, "Health status of '{Service}' not changed to {Status}: the server is shutting down.")]
    public static partial void HealthStatusIgnored(ILogger logger, string service, string status);
}
