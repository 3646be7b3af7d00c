using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeaseService.Testing;

/// <summary>
/// HS256 JWTs made in the test with nothing but HMAC-SHA256 (RFC 7519), for servers configured
/// with <c>Authentication:Jwt:SigningKey</c>, <c>Issuer</c> and <c>Audience</c> (<see cref="Environment"/>).
/// </summary>
public static class HandMadeJwt
{
    public const string Issuer = "https://issuer.leaseservice.test";
    public const string Audience = "leaseservice";

    /// <summary>A signing key of this test run.</summary>
    public static byte[] Key { get; } = RandomNumberGenerator.GetBytes(32);

    /// <summary>The server's settings as environment variables, with <paramref name="admins"/>.</summary>
    public static Dictionary<string, string> Environment(params string[] admins)
    {
        var settings = new Dictionary<string, string>
        {
            ["Authentication__Jwt__SigningKey"] = Convert.ToBase64String(Key),
            ["Authentication__Jwt__Issuer"] = Issuer,
            ["Authentication__Jwt__Audience"] = Audience,
        };
        for (var i = 0; i < admins.Length; i++)
        {
            settings[$"Authorization__Admins__{i}"] = admins[i];
        }

        return settings;
    }

    /// <summary>A token for <paramref name="subject"/>, valid for ten minutes.</summary>
    public static string Mint(string subject)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Part(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT" }));
        var payload = Part(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 600,
        }));
        var signature = Part(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;

        static string Part(byte[] bytes) => Base64Url.EncodeToString(bytes);
    }
}
