namespace LeaseService.Server.Metrics;

/// <summary>Configuration section <c>Metrics</c>; environment form <c>Metrics__Url=http://+:9464</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>The default address of the metrics endpoint.</summary>
    public const string DefaultUrl = "http://localhost:9464";

    /// <summary>
    /// Where <c>/metrics</c> is served, over HTTP/1.1 on its own port, apart from the gRPC
    /// endpoints. Default <c>http://localhost:9464</c>; any <c>http://host:port</c> Kestrel accepts
    /// (<c>http://+:9464</c> or <c>http://0.0.0.0:9464</c> for every interface) with a port from 0
    /// to 65535 (0 for any free port); empty disables the endpoint.
    /// </summary>
    public string? Url { get; set; } = DefaultUrl;

    /// <summary>True when the endpoint is enabled.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Url);
}
