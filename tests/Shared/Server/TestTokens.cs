using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LeaseService.Testing;

/// <summary>JWTs minted in the test, for a server configured with <see cref="Settings"/> (HS256, issuer, audience).</summary>
internal static class TestTokens
{
    public const string Issuer = "https://issuer.leaseservice.test";
    public const string Audience = "leaseservice";

    public static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    /// <summary>The server's <c>Authentication:Jwt</c> settings as command-line arguments.</summary>
    public static string[] Settings =>
    [
        $"--Authentication:Jwt:SigningKey={Convert.ToBase64String(Key)}",
        $"--Authentication:Jwt:Issuer={Issuer}",
        $"--Authentication:Jwt:Audience={Audience}",
    ];

    /// <summary>
    /// A valid token for <paramref name="subject"/> unless a parameter says otherwise; a null
    /// subject makes a token without <c>sub</c> (a client-credentials token naming only its client).
    /// </summary>
    public static string Mint(string? subject, byte[]? key = null, string audience = Audience, string issuer = Issuer, TimeSpan? expiresIn = null)
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(10));
        var issued = expires < now ? expires - TimeSpan.FromHours(1) : now;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([subject is null ? new Claim("client_id", "batch-job") : new Claim("sub", subject)]),
            IssuedAt = issued,
            NotBefore = issued,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? Key), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string Unsigned(string subject)
    {
        var exp = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
        return Part("""{"alg":"none","typ":"JWT"}""")
            + "." + Part($$"""{"sub":"{{subject}}","iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}}}""")
            + ".";

        static string Part(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
    }
}
