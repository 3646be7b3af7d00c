using System.Globalization;
using LeaseService.Rpc.AspNetCore.Internal.Framing;
using LeaseService.Rpc.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LeaseService.Rpc.AspNetCore.Internal.Calls;

/// <summary>
/// Writes the call's status. Before the response started it goes into the headers
/// (Trailers-Only: one HEADERS frame with END_STREAM); afterwards into the trailers.
/// </summary>
internal static class ResponseStatus
{
    private static readonly string[] Codes = CreateCodes();

    public static string ToHeaderValue(StatusCode code)
    {
        var value = (int)code;
        return (uint)value < (uint)Codes.Length ? Codes[value] : value.ToString(CultureInfo.InvariantCulture);
    }

    public static void Write(ServerCallContext call, StatusCode code, string? detail, bool includeCustomTrailers = true)
    {
        var httpContext = call.HttpContext;
        var response = httpContext.Response;
        IHeaderDictionary destination;
        if (!response.HasStarted)
        {
            destination = response.Headers;
        }
        else
        {
            var trailers = httpContext.Features.Get<IHttpResponseTrailersFeature>();
            if (trailers is null || trailers.Trailers.IsReadOnly)
            {
                return; // HTTP/1.x or trailers already sent: nothing more can be said.
            }

            destination = trailers.Trailers;
        }

        if (includeCustomTrailers && call.CustomTrailers is { Count: > 0 } custom)
        {
            foreach (var pair in custom)
            {
                if (!ReservedHeaders.IsReservedForTrailers(pair.Key))
                {
                    destination[pair.Key] = pair.Value;
                }
            }
        }

        SetStatus(destination, code, detail);
    }

    /// <summary>Sets grpc-status (always) and grpc-message (percent-encoded, when not empty).</summary>
    public static void SetStatus(IHeaderDictionary destination, StatusCode code, string? detail)
    {
        destination.GrpcStatus = ToHeaderValue(code);
        if (!string.IsNullOrEmpty(detail))
        {
            destination.GrpcMessage = PercentEncoding.Encode(detail);
        }
    }

    private static string[] CreateCodes()
    {
        var codes = new string[17];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = i.ToString(CultureInfo.InvariantCulture);
        }

        return codes;
    }
}
