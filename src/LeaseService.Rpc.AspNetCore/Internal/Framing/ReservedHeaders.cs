using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace LeaseService.Rpc.AspNetCore.Internal.Framing;

/// <summary>Header names the protocol owns: never shown to handlers as metadata, never taken from them.</summary>
internal static class ReservedHeaders
{
    private static readonly FrozenSet<string> Request = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "content-type", "te", "host", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
        "content-length", "accept-encoding", "content-encoding", "connection", "keep-alive",
        "proxy-connection", "transfer-encoding", "upgrade");

    private static readonly FrozenSet<string> Trailers = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "grpc-status", "grpc-message", "content-type", "te", "host", "grpc-timeout", "grpc-encoding",
        "grpc-accept-encoding", "content-length", "accept-encoding", "content-encoding", "connection",
        "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "date", "server");

    /// <summary>Copies the custom metadata of a request into a new read-only dictionary.</summary>
    public static HeaderDictionary CopyCustom(IHeaderDictionary headers)
    {
        var copy = new HeaderDictionary();
        foreach (var pair in headers)
        {
            if (pair.Key.Length > 0 && pair.Key[0] != ':' && !Request.Contains(pair.Key))
            {
                copy[pair.Key] = pair.Value;
            }
        }

        copy.IsReadOnly = true;
        return copy;
    }

    public static bool IsReservedForTrailers(string name) => name.Length == 0 || name[0] == ':' || Trailers.Contains(name);
}
