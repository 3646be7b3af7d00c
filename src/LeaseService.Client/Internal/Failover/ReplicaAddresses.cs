namespace LeaseService.Client.Internal.Failover;

/// <summary>
/// The configured replica addresses, in order, each reduced to scheme, host and port (no path;
/// host compared case-insensitively, default ports made explicit).
/// </summary>
internal sealed class ReplicaAddresses
{
    private readonly Uri[] _addresses;

    private ReplicaAddresses(Uri[] addresses) => _addresses = addresses;

    /// <summary>How many addresses.</summary>
    public int Count => _addresses.Length;

    /// <summary>The addresses, in configured order.</summary>
    public IReadOnlyList<Uri> All => _addresses;

    /// <summary>The address at <paramref name="index"/>.</summary>
    public Uri this[int index] => _addresses[index];

    /// <summary>
    /// Parses <paramref name="addresses"/> (absolute http/https URLs; each may itself be a
    /// comma-separated list; blanks are ignored, duplicates kept once).
    /// </summary>
    /// <exception cref="ArgumentException">None given, or one is not an absolute http(s) URL.</exception>
    public static ReplicaAddresses Parse(IEnumerable<string> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var parsed = new List<Uri>();
        foreach (var address in addresses.SelectMany(a => (a ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            var uri = Normalize(address) ?? throw new ArgumentException($"'{address}' is not an absolute http:// or https:// address.", nameof(addresses));
            if (!parsed.Contains(uri))
            {
                parsed.Add(uri);
            }
        }

        return parsed.Count > 0 ? new ReplicaAddresses([.. parsed]) : throw new ArgumentException("No server address given.", nameof(addresses));
    }

    /// <summary>The index of <paramref name="address"/> among the configured addresses, or -1 (also when it does not parse).</summary>
    public int IndexOf(string address) => Normalize(address) is { } uri ? Array.IndexOf(_addresses, uri) : -1;

    private static Uri? Normalize(string address)
        => Uri.TryCreate(address.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0
            ? new Uri($"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}")
            : null;
}
