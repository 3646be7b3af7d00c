using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;
using LeaseService.Rpc.Internal;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>
/// How a client turns what it received into a status (spec digest §3.3, §5.3). Pure functions.
/// </summary>
internal static class ResponseStatus
{
    private const int MaxStatusCode = (int)StatusCode.Unauthenticated;

    /// <summary>
    /// Checks the response headers. Returns the call's final status when the headers already decide
    /// it, in this order: a <c>grpc-status</c> (Trailers-Only, wins even with a non-200
    /// <c>:status</c>; <paramref name="trailersOnly"/> is then true); a response that is not HTTP/2
    /// (INTERNAL); a <c>:status</c> other than 200 (the HTTP mapping table); a content-type that is
    /// not gRPC (UNKNOWN). Null when the body should be read.
    /// </summary>
    public static Status? FromResponseHeaders(HttpResponseMessage response, out bool trailersOnly)
    {
        if (TryGetGrpcStatus(response.Headers, out var status))
        {
            trailersOnly = true;
            return status;
        }

        trailersOnly = false;
        if (response.Version.Major != 2)
        {
            return new Status(StatusCode.Internal, $"Bad gRPC response. Response protocol downgraded to HTTP/{response.Version.ToString(2)}.");
        }

        if (response.StatusCode != HttpStatusCode.OK)
        {
            return FromHttpStatus((int)response.StatusCode);
        }

        string? contentType = null;
        if (response.Content.Headers.NonValidated.TryGetValues("content-type", out var values))
        {
            contentType = values.ToString();
        }

        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            return new Status(
                StatusCode.Unknown,
                contentType is null
                    ? "Bad gRPC response. The response has no content-type."
                    : $"Bad gRPC response. Content-type '{contentType}' is not a gRPC content type.");
        }

        return null;
    }

    /// <summary>The status in the trailers; UNKNOWN when the body ended without one.</summary>
    public static Status FromTrailers(HttpResponseMessage response)
        => TryGetGrpcStatus(response.TrailingHeaders, out var status)
            ? status
            : new Status(StatusCode.Unknown, "No grpc-status found on response.");

    /// <summary>
    /// Reads <c>grpc-status</c> and <c>grpc-message</c> (percent-decoded) if a status is present.
    /// A value that is not a decimal integer from 0 to 16 gives UNKNOWN.
    /// </summary>
    public static bool TryGetGrpcStatus(HttpHeaders headers, out Status status)
    {
        var nonValidated = headers.NonValidated;
        if (!nonValidated.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            status = default;
            return false;
        }

        var text = statusValues.ToString();
        string? message = null;
        if (nonValidated.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues))
        {
            message = PercentEncoding.Decode(messageValues.ToString());
        }

        if (text == "0")
        {
            status = message is null ? Status.Ok : new Status(StatusCode.OK, message);
            return true;
        }

        if (statusValues.Count == 1
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            && code <= MaxStatusCode)
        {
            status = new Status((StatusCode)code, message ?? string.Empty);
            return true;
        }

        status = new Status(
            StatusCode.Unknown,
            message is null ? $"Invalid grpc-status '{text}'." : $"Invalid grpc-status '{text}': {message}");
        return true;
    }

    /// <summary>The HTTP to gRPC table, used only when there is no grpc-status.</summary>
    public static Status FromHttpStatus(int httpStatus)
    {
        var code = httpStatus switch
        {
            400 => StatusCode.Internal,
            401 => StatusCode.Unauthenticated,
            403 => StatusCode.PermissionDenied,
            404 => StatusCode.Unimplemented,
            429 => StatusCode.Unavailable,
            431 => StatusCode.Internal,
            502 or 503 or 504 => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };
        return new Status(code, $"Bad gRPC response. HTTP status code: {httpStatus}.");
    }

    /// <summary>An HTTP/2 RST_STREAM (or GOAWAY) error code as a status code.</summary>
    public static StatusCode FromHttp2ErrorCode(long errorCode) => errorCode switch
    {
        0x7 => StatusCode.Unavailable,       // REFUSED_STREAM: nothing was processed; safe to retry.
        0x8 => StatusCode.Cancelled,         // CANCEL
        0xB => StatusCode.ResourceExhausted, // ENHANCE_YOUR_CALM
        0xC => StatusCode.PermissionDenied,  // INADEQUATE_SECURITY
        _ => StatusCode.Internal,            // NO_ERROR before a status, PROTOCOL_ERROR, INTERNAL_ERROR, ...
    };

    /// <summary>
    /// The status for a failure that did not come from the server's status: an
    /// <see cref="HttpProtocolException"/> anywhere in the chain maps its HTTP/2 code; a protobuf
    /// parse error is INTERNAL; otherwise an
    /// <see cref="IOException"/>, <see cref="SocketException"/> or <see cref="HttpRequestException"/>
    /// is a connection failure (UNAVAILABLE); anything else is INTERNAL.
    /// </summary>
    public static Status FromException(Exception exception)
    {
        if (exception is RpcException rpc)
        {
            return rpc.Status;
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
            {
                return new Status(FromHttp2ErrorCode(protocol.ErrorCode), $"HTTP/2 error code 0x{protocol.ErrorCode:X}: {protocol.Message}");
            }
        }

        if (exception is InvalidProtocolBufferException)
        {
            // An IOException too, but the bytes arrived: the message is bad, the connection is fine.
            return new Status(StatusCode.Internal, $"Failed to deserialize response message: {exception.Message}");
        }

        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is IOException or SocketException or HttpRequestException)
            {
                return new Status(StatusCode.Unavailable, $"Error connecting to the server. {e.GetType().Name}: {e.Message}");
            }
        }

        return exception switch
        {
            // Not one of ours (those are resolved by the call): e.g. the handler's connect timeout.
            OperationCanceledException { InnerException: TimeoutException } => new Status(StatusCode.Unavailable, $"Timed out connecting to the server: {exception.Message}"),
            OperationCanceledException => new Status(StatusCode.Cancelled, exception.Message),
            _ => new Status(StatusCode.Internal, $"Error in gRPC call. {exception.GetType().Name}: {exception.Message}"),
        };
    }
}
