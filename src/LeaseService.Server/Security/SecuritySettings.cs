using LeaseService.Server.Hosting;

namespace LeaseService.Server.Security;

/// <summary>
/// The <c>Authentication</c>, <c>Authorization</c> and <c>Security</c> sections, read once at
/// start-up. Authentication is on when JWT (<c>Authentication:Jwt:Authority</c> or
/// <c>Authentication:Jwt:SigningKey</c>) or client certificates
/// (<c>Authentication:Certificate:TrustAnchors</c>) are configured; otherwise every call is
/// anonymous and nothing is checked (loopback only, unless <c>Security:AllowAnonymous=true</c>).
/// </summary>
internal sealed class SecuritySettings
{
    public const string AllowAnonymousKey = "Security:AllowAnonymous";
    public const string JwtSection = "Authentication:Jwt";
    public const string CertificateSection = "Authentication:Certificate";
    public const string AuthorizationSection = "Authorization";

    /// <summary>The claim that names the principal: the token's <c>sub</c>, or the certificate subject's CN.</summary>
    public const string PrincipalClaim = "sub";

    public string? JwtAuthority { get; init; }

    public string? JwtAudience { get; init; }

    public string? JwtIssuer { get; init; }

    public string? JwtSigningKey { get; init; }

    /// <summary>PEM files of the CAs client certificates must chain to.</summary>
    public IReadOnlyList<string> TrustAnchors { get; init; } = [];

    public bool AllowAnonymous { get; init; }

    /// <summary>Principals allowed to force recovery and to use the control services.</summary>
    public IReadOnlySet<string> Admins { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Principal (or <c>*</c> for every principal without its own entry; ignoring case) → path prefixes it may open files under.</summary>
    public IReadOnlyDictionary<string, string[]> PathRules { get; init; } = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);

    public bool JwtEnabled => !string.IsNullOrWhiteSpace(JwtAuthority) || !string.IsNullOrWhiteSpace(JwtSigningKey);

    public bool CertificatesEnabled => TrustAnchors.Count > 0;

    public bool AuthenticationEnabled => JwtEnabled || CertificatesEnabled;

    public static SecuritySettings Read(IConfiguration configuration)
    {
        var jwt = configuration.GetSection(JwtSection);
        var authorization = configuration.GetSection(AuthorizationSection);
        // Keyed ignoring case, as configuration itself is: AUTHORIZATION__PATHRULES__ALICE__0 is the
        // same key as Authorization:PathRules:alice:0, and an exact match would skip alice's rule.
        var rules = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in authorization.GetSection("PathRules").GetChildren())
        {
            var prefixes = rule.Value is not null ? [rule] : rule.GetChildren().ToArray();
            foreach (var prefix in prefixes)
            {
                // An empty prefix (an unset variable) would allow everywhere, a relative one nowhere.
                if (prefix.Value is not ['/', ..])
                {
                    throw new StartupException(
                        $"Invalid configuration: {prefix.Path} is '{prefix.Value}'; a path rule's prefix is an absolute path (/logs allows /logs and under it; / allows everywhere).");
                }
            }

            rules[rule.Key] = prefixes.Select(p => p.Value!).ToArray();
        }

        return new SecuritySettings
        {
            JwtAuthority = jwt["Authority"],
            JwtAudience = jwt["Audience"],
            JwtIssuer = jwt["Issuer"],
            JwtSigningKey = jwt["SigningKey"],
            TrustAnchors = Values(configuration.GetSection(CertificateSection + ":TrustAnchors")),
            AllowAnonymous = configuration.GetValue<bool>(AllowAnonymousKey),
            Admins = new HashSet<string>(Values(authorization.GetSection("Admins")), StringComparer.Ordinal),
            PathRules = rules,
        };

        // A list key given as one value ("a;b" not supported: one value is one entry) or as :0, :1, ….
        static string[] Values(IConfigurationSection section)
            => section.Value is { Length: > 0 } single
                ? [single]
                : section.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!).ToArray();
    }

    /// <summary>Whether <paramref name="principal"/> is one of <c>Authorization:Admins</c>.</summary>
    public bool IsAdmin(string? principal) => principal is not null && Admins.Contains(principal);

    /// <summary>Whether <paramref name="principal"/> may open a file at <paramref name="path"/> (PathRules).</summary>
    public bool PathAllowed(string principal, string path)
    {
        if (!PathRules.TryGetValue(principal, out var prefixes) && !PathRules.TryGetValue("*", out prefixes))
        {
            return true;
        }

        foreach (var prefix in prefixes)
        {
            var root = prefix.TrimEnd('/');
            if (root.Length == 0 || path == root || path.StartsWith(root + "/", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
