using System.Collections.Frozen;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.InteropServices;

namespace LeaseService.Rpc.Client.Internal;

/// <summary>
/// The request headers of a call. Constant values are shared strings and one shared
/// <see cref="MediaTypeHeaderValue"/>, so a call allocates nothing for them.
/// </summary>
internal static class RequestHeaders
{
    public const string TeHeader = "te";
    public const string TeTrailers = "trailers";
    public const string UserAgentHeader = "user-agent";

    /// <summary>Never mutated once created; shared by every request's content headers.</summary>
    public static readonly MediaTypeHeaderValue GrpcContentType = new(GrpcProtocol.ContentType);

    public static readonly string DefaultUserAgent = CreateDefaultUserAgent();

    /// <summary>Set by this layer, or forbidden by HTTP/2; every <c>grpc-</c> name is reserved too.</summary>
    private static readonly FrozenSet<string> ReservedNames = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "te", "content-type", "content-length", "content-encoding", "accept-encoding", "host", "user-agent",
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade");

    /// <summary>
    /// Fills the headers of one call. <c>grpc-timeout</c> comes first after the pseudo-headers,
    /// then the call-definition headers, then custom metadata (already validated).
    /// </summary>
    public static void Apply(HttpRequestMessage request, string userAgent, string? grpcTimeout, IReadOnlyList<KeyValuePair<string, string>>? custom)
    {
        request.Version = HttpVersion.Version20;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        var headers = request.Headers;
        if (grpcTimeout is not null)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, grpcTimeout);
        }

        headers.TryAddWithoutValidation(TeHeader, TeTrailers);
        headers.TryAddWithoutValidation(UserAgentHeader, userAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.IdentityEncoding);
        if (custom is not null)
        {
            for (var i = 0; i < custom.Count; i++)
            {
                var (name, value) = custom[i];
                headers.TryAddWithoutValidation(name, value);
            }
        }
    }

    /// <summary>
    /// Rejects metadata the application must not set: invalid names, names reserved by HTTP/2 or
    /// gRPC (every <c>grpc-</c> name included), and values outside printable ASCII.
    /// </summary>
    public static void Validate(IReadOnlyList<KeyValuePair<string, string>>? custom)
    {
        if (custom is null)
        {
            return;
        }

        for (var i = 0; i < custom.Count; i++)
        {
            var (name, value) = custom[i];
            if (string.IsNullOrEmpty(name) || !IsValidName(name))
            {
                throw new ArgumentException($"Metadata name '{name}' is invalid: use [0-9a-z_.-].", nameof(custom));
            }

            if (IsReserved(name))
            {
                throw new ArgumentException($"Metadata name '{name}' is reserved and cannot be set by the application.", nameof(custom));
            }

            if (value is null || !IsValidValue(value))
            {
                throw new ArgumentException($"The value of metadata '{name}' must be printable ASCII (0x20-0x7E).", nameof(custom));
            }
        }
    }

    public static bool IsReserved(string name)
    {
        if (name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return ReservedNames.Contains(name);
    }

    private static bool IsValidName(string name)
    {
        foreach (var c in name)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidValue(string value)
    {
        foreach (var c in value)
        {
            if (c is < (char)0x20 or > (char)0x7E)
            {
                return false;
            }
        }

        return true;
    }

    private static string CreateDefaultUserAgent()
    {
        var version = typeof(RequestHeaders).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "1.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        if (plus >= 0)
        {
            version = version[..plus];
        }

        return $"grpc-dotnet-leaseservice/{version} (.NET {Environment.Version}; {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()})";
    }
}
