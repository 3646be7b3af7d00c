using System.Formats.Asn1;
using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.AspNetCore.Server;
using LeaseService.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Certificate;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.IdentityModel.Tokens;

namespace LeaseService.Server.Security;

/// <summary>
/// ASP.NET Core authentication (JWT bearer tokens and/or client certificates) and authorization
/// policies for the gRPC services, from configuration (<see cref="SecuritySettings"/>). The
/// principal is the <c>sub</c> claim or the certificate subject's CN. Without authentication
/// nothing is registered and every call is anonymous, which is refused on a non-loopback address
/// unless <c>Security:AllowAnonymous=true</c>.
/// </summary>
internal static partial class SecuritySetup
{
    /// <summary>Authenticated principal (the lease service, reflection).</summary>
    public const string CallerPolicy = "LeaseService.Caller";

    /// <summary>An authenticated principal listed in <c>Authorization:Admins</c>.</summary>
    public const string AdminPolicy = "LeaseService.Admin";

    /// <summary>An authenticated principal whose path rules allow the path (the resource).</summary>
    public const string OpenPathPolicy = "LeaseService.OpenPath";

    private const string SelectorScheme = "LeaseService";

    /// <summary>How far a token's expiry (and not-before) may be off the server's clock, either way JWT is configured.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static SecuritySettings AddLeaseServiceSecurity(this WebApplicationBuilder builder)
    {
        var settings = SecuritySettings.Read(builder.Configuration);
        builder.Services.AddSingleton(settings);
        if (!settings.AuthenticationEnabled)
        {
            RefuseRulesWithoutAuthentication(settings);
            RefuseAnonymousOnNetwork(builder.Configuration, settings);
            return settings;
        }

        var authentication = builder.Services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Bearer token or client certificate", options =>
                options.ForwardDefaultSelector = context => SchemeFor(context, settings));
        if (settings.JwtEnabled)
        {
            // Validated now, so a bad setting stops start-up rather than the first call.
            var configureJwt = JwtConfiguration(settings);
            authentication.AddJwtBearer(configureJwt);
        }

        if (settings.CertificatesEnabled)
        {
            var anchors = LoadTrustAnchors(settings.TrustAnchors);

            // A client presents its certificate in the TLS handshake: over cleartext no one could.
            if (!ListenAddresses.Configured(builder.Configuration).Any(address => address.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                throw new StartupException(
                    $"Invalid configuration: {SecuritySettings.CertificateSection}:TrustAnchors is set but no endpoint uses TLS, so no client could present a certificate: listen on an https:// address ({ListenAddresses.UrlsKeys}) with a Kestrel certificate (Kestrel:Certificates:Default).");
            }

            authentication.AddCertificate(options => ConfigureCertificates(options, anchors));

            // Ask TLS clients for a certificate without requiring one (token clients send none);
            // the certificate handler validates it against the trust anchors, not the handshake.
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureHttpsDefaults(https =>
            {
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                https.AllowAnyClientCertificate();
            }));
        }

        builder.Services.AddAuthorization(options =>
        {
            // A named principal: an authenticated identity without a name would pass as "no
            // authentication" to the core's ownership rules (RequireSubject refuses such tokens).
            options.AddPolicy(CallerPolicy, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(context => CallerPrincipal.Of(context.User) is not null));
            options.AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(context => settings.IsAdmin(CallerPrincipal.Of(context.User))));
            options.AddPolicy(OpenPathPolicy, policy => policy.RequireAuthenticatedUser().AddRequirements(new PathRuleRequirement()));
        });
        builder.Services.AddSingleton<IAuthorizationHandler, PathRuleHandler>();
        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, GrpcAuthorizationResultHandler>();
        builder.Services.AddSingleton<AccessDenials>();
        // One instance from DI rather than one constructed per call (it keeps no per-call state).
        builder.Services.AddSingleton<AuthorizationInterceptor>();
        builder.Services.Configure<GrpcServiceOptions>(options => options.Interceptors.Add<AuthorizationInterceptor>());
        return settings;
    }

    /// <summary>Authentication and authorization middleware, before the endpoints; nothing when authentication is off.</summary>
    public static void UseLeaseServiceSecurity(this WebApplication app, SecuritySettings settings)
    {
        if (settings.AuthenticationEnabled)
        {
            app.UseAuthentication();
            app.UseAuthorization();
        }
        else if (settings.AllowAnonymous)
        {
            LogAnonymous(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LeaseService.Server.Security"));
        }
    }

    /// <summary>The endpoint needs an authenticated principal (when authentication is on).</summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder endpoint, SecuritySettings settings)
        where TBuilder : IEndpointConventionBuilder
        => settings.AuthenticationEnabled ? endpoint.RequireAuthorization(CallerPolicy) : endpoint;

    /// <summary>The endpoint needs an admin principal (when authentication is on).</summary>
    public static TBuilder RequireAdmin<TBuilder>(this TBuilder endpoint, SecuritySettings settings)
        where TBuilder : IEndpointConventionBuilder
        => settings.AuthenticationEnabled ? endpoint.RequireAuthorization(AdminPolicy) : endpoint;

    private static string SchemeFor(HttpContext context, SecuritySettings settings)
    {
        var bearer = context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
        if (settings.JwtEnabled && (bearer || !settings.CertificatesEnabled))
        {
            return JwtBearerDefaults.AuthenticationScheme;
        }

        return CertificateAuthenticationDefaults.AuthenticationScheme;
    }

    private static Action<JwtBearerOptions> JwtConfiguration(SecuritySettings settings)
    {
        if (!string.IsNullOrWhiteSpace(settings.JwtAuthority) && !string.IsNullOrWhiteSpace(settings.JwtSigningKey))
        {
            // One would be ignored: tokens signed with the key would be refused with no word why.
            throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:Authority and {SecuritySettings.JwtSection}:SigningKey are both set; set one (an OpenID Connect issuer, or a key of your own).");
        }

        if (!string.IsNullOrWhiteSpace(settings.JwtAuthority))
        {
            // An OpenID Connect issuer: keys and issuer from its discovery document.
            if (string.IsNullOrWhiteSpace(settings.JwtAudience))
            {
                throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:Audience is required with {SecuritySettings.JwtSection}:Authority.");
            }

            // JwtBearer refuses any other only at the first call, failing every call (health too) with HTTP 500.
            if (!Uri.TryCreate(settings.JwtAuthority, UriKind.Absolute, out var authority) || authority.Scheme != Uri.UriSchemeHttps)
            {
                throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:Authority is '{settings.JwtAuthority}'; it must be the issuer's https:// URL (its discovery document and keys are fetched over HTTPS).");
            }

            return options =>
            {
                options.MapInboundClaims = false; // The principal is the sub claim as issued.
                options.Events = new JwtBearerEvents { OnTokenValidated = RequireSubject };
                options.Authority = settings.JwtAuthority;
                options.Audience = settings.JwtAudience;
                options.TokenValidationParameters.NameClaimType = SecuritySettings.PrincipalClaim;
                options.TokenValidationParameters.ClockSkew = ClockSkew; // Not JwtBearer's 5 minutes.
            };
        }

        if (string.IsNullOrWhiteSpace(settings.JwtIssuer) || string.IsNullOrWhiteSpace(settings.JwtAudience))
        {
            throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:Issuer and {SecuritySettings.JwtSection}:Audience are required with {SecuritySettings.JwtSection}:SigningKey.");
        }

        var key = new SymmetricSecurityKey(DecodeSigningKey(settings.JwtSigningKey!));
        return options =>
        {
            options.MapInboundClaims = false;
            options.Events = new JwtBearerEvents { OnTokenValidated = RequireSubject };
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.JwtIssuer,
                ValidAudience = settings.JwtAudience,
                IssuerSigningKey = key,
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                RequireSignedTokens = true,
                RequireExpirationTime = true,
                ValidateLifetime = true,
                ClockSkew = ClockSkew,
                NameClaimType = SecuritySettings.PrincipalClaim,
            };
        };
    }

    /// <summary>
    /// Refuses a valid token without a <c>sub</c>: the core takes a call without a principal name
    /// for a call without authentication, which no ownership rule applies to.
    /// </summary>
    private static Task RequireSubject(TokenValidatedContext context)
    {
        if (CallerPrincipal.Of(context.Principal) is null)
        {
            context.Fail($"the token has no {SecuritySettings.PrincipalClaim} claim: every caller must be a named principal");
        }

        return Task.CompletedTask;
    }

    private static byte[] DecodeSigningKey(string base64)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:SigningKey is not base64.");
        }

        if (key.Length < 32)
        {
            throw new StartupException($"Invalid configuration: {SecuritySettings.JwtSection}:SigningKey has {key.Length} bytes; HS256 needs at least 32 (e.g. openssl rand -base64 32).");
        }

        return key;
    }

    private static X509Certificate2Collection LoadTrustAnchors(IReadOnlyList<string> files)
    {
        var anchors = new X509Certificate2Collection();
        foreach (var file in files)
        {
            try
            {
                anchors.ImportFromPemFile(file);
            }
            catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
            {
                throw new StartupException($"Invalid configuration: {SecuritySettings.CertificateSection}:TrustAnchors: cannot read {file}: {ex.Message}", ex);
            }
        }

        if (anchors.Count == 0)
        {
            throw new StartupException($"Invalid configuration: {SecuritySettings.CertificateSection}:TrustAnchors names no certificate.");
        }

        return anchors;
    }

    private static void ConfigureCertificates(CertificateAuthenticationOptions options, X509Certificate2Collection anchors)
    {
        options.AllowedCertificateTypes = CertificateTypes.Chained;
        options.ChainTrustValidationMode = X509ChainTrustMode.CustomRootTrust;
        options.CustomTrustStore.AddRange(anchors);
        options.RevocationMode = X509RevocationMode.NoCheck;
        options.ValidateCertificateUse = true;
        options.Events = new CertificateAuthenticationEvents
        {
            OnCertificateValidated = context =>
            {
                if (CommonName(context.ClientCertificate.SubjectName) is not { } commonName)
                {
                    context.Fail("the client certificate's subject must have exactly one CN, with a value");
                    return Task.CompletedTask;
                }

                var identity = new ClaimsIdentity(
                    [new Claim(SecuritySettings.PrincipalClaim, commonName, ClaimValueTypes.String, context.Options.ClaimsIssuer)],
                    context.Scheme.Name,
                    SecuritySettings.PrincipalClaim,
                    ClaimTypes.Role);
                context.Principal = new ClaimsPrincipal(identity);
                context.Success();
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>
    /// The subject's one CN, or null when it has none, more than one, or one that is empty or
    /// shares its RDN with other attributes. Not <see cref="X509Certificate2.GetNameInfo"/>'s
    /// simple name: without a CN that falls back to another attribute (<c>L=ops</c> reads as
    /// <c>ops</c>), and with two CNs it picks one, so a certificate issued for something else
    /// could act as any principal, an admin included.
    /// </summary>
    internal static string? CommonName(X500DistinguishedName subject)
    {
        const string CommonNameOid = "2.5.4.3";
        string? found = null;
        var count = 0;
        try
        {
            foreach (var rdn in subject.EnumerateRelativeDistinguishedNames())
            {
                if (rdn.HasMultipleElements)
                {
                    // A CN sharing its RDN with other attributes (CN=a+OU=b) makes the name ambiguous.
                    var attributes = new AsnReader(rdn.RawData, AsnEncodingRules.DER).ReadSetOf();
                    while (attributes.HasData)
                    {
                        count += attributes.ReadSequence().ReadObjectIdentifier() == CommonNameOid ? 2 : 0;
                    }
                }
                else if (rdn.GetSingleElementType().Value == CommonNameOid)
                {
                    count++;
                    found = rdn.GetSingleElementValue();
                }
            }
        }
        catch (Exception ex) when (ex is AsnContentException or CryptographicException)
        {
            return null; // A subject .NET cannot read names no one.
        }

        return count == 1 && !string.IsNullOrWhiteSpace(found) ? found : null;
    }

    /// <summary>
    /// Settings that only mean something with authentication, given without it: an operator who
    /// set admins, path rules or a token issuer expects calls to be checked, and none would be
    /// (typically the signing key's variable is unset). Refused, anonymous allowed or not.
    /// </summary>
    private static void RefuseRulesWithoutAuthentication(SecuritySettings settings)
    {
        var orphan = settings.Admins.Count > 0 ? $"{SecuritySettings.AuthorizationSection}:Admins"
            : settings.PathRules.Count > 0 ? $"{SecuritySettings.AuthorizationSection}:PathRules"
            : !string.IsNullOrWhiteSpace(settings.JwtIssuer) ? $"{SecuritySettings.JwtSection}:Issuer"
            : null;
        if (orphan is not null)
        {
            throw new StartupException(
                $"Invalid configuration: {orphan} is set but no authentication is configured ({SecuritySettings.JwtSection}:SigningKey or {SecuritySettings.JwtSection}:Authority, or {SecuritySettings.CertificateSection}:TrustAnchors is missing or empty), so every call would be anonymous and nothing checked.");
        }
    }

    /// <summary>
    /// Secure by default: with no authentication, listening beyond loopback needs
    /// <c>Security:AllowAnonymous=true</c>. The configured addresses are checked before anything listens.
    /// </summary>
    private static void RefuseAnonymousOnNetwork(IConfiguration configuration, SecuritySettings settings)
    {
        if (settings.AllowAnonymous)
        {
            return;
        }

        var exposed = ListenAddresses.Configured(configuration).Select(address => address.Url).FirstOrDefault(url => !IsLoopback(url));
        if (exposed is not null)
        {
            throw new StartupException(
                $"Refusing to serve {exposed} without authentication: configure {SecuritySettings.JwtSection} or {SecuritySettings.CertificateSection}:TrustAnchors, or set {SecuritySettings.AllowAnonymousKey}=true to let anyone who reaches the port take, renew, release and force-recover any lease.");
        }
    }

    private static bool IsLoopback(string url)
    {
        if (ListenAddresses.TryParse(url) is not { } address)
        {
            return true; // Not an address: Kestrel refuses it with its own message.
        }

        var host = address.Host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    [LoggerMessage(6010, LogLevel.Warning, "Security:AllowAnonymous=true and no authentication configured: every call is anonymous; anyone who reaches the port may take, renew, release and force-recover any lease and drive the control services.")]
    private static partial void LogAnonymous(ILogger logger);
}
