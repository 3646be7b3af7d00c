using LeaseService.Testing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LeaseService.Server.Tests.Security;

/// <summary>What the server checks in a token, whichever way JWT is configured (README, Security).</summary>
public sealed class JwtValidationSettingsTests
{
    private static readonly string[] Common = ["--urls", "http://127.0.0.1:0", "--Metrics:Url=", "--Storage:Provider=InMemory", "--Serilog:MinimumLevel:Default=Warning"];

    public static TheoryData<string, string[]> Configurations => new()
    {
        { "signing key", TestTokens.Settings },
        { "OpenID Connect authority", ["--Authentication:Jwt:Authority=https://login.example", "--Authentication:Jwt:Audience=leaseservice"] },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public async Task Jwt_RequiresExpiry_AndAllowsThirtySecondsOfClockSkew(string why, string[] settings)
    {
        // Built, not started: nothing fetches the authority's discovery document.
        await using var app = LeaseServer.Build([.. Common, .. settings]);

        var validation = app.Services.GetRequiredService<IOptionsMonitor<JwtBearerOptions>>().Get(JwtBearerDefaults.AuthenticationScheme).TokenValidationParameters;

        validation.ClockSkew.Should().Be(TimeSpan.FromSeconds(30), why);
        (validation.RequireExpirationTime, validation.ValidateLifetime, validation.RequireSignedTokens).Should().Be((true, true, true), why);
        (validation.ValidateIssuer, validation.ValidateAudience).Should().Be((true, true), why);
    }
}
