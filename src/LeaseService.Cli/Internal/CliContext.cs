using System.CommandLine;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Shared;
using Grpc.Core;

namespace LeaseService.Cli.Internal;

/// <summary>What every command needs: the output streams, the server, and one place that turns failures into exit codes.</summary>
internal sealed class CliContext(
    TextWriter stdout,
    TextWriter stderr,
    Func<string, LeaseClientOptions, LeaseClient> clientFactory,
    Func<TimeSpan, CancellationToken, Task> delay,
    Func<string, string?> environment)
{
    /// <summary>The environment variable naming the server when <c>--server</c> is not given.</summary>
    public const string ServerVariable = "LEASE_SERVER";

    /// <summary>The server when neither <c>--server</c> nor <see cref="ServerVariable"/> names one: where the server listens by default.</summary>
    public const string DefaultServer = "http://localhost:5050";

    public Option<string?> ServerOption { get; } = new("--server", "-s")
    {
        Description = $"Server address, or the replicas' addresses comma-separated (default: ${ServerVariable}, else {DefaultServer})",
        Recursive = true,
    };

    /// <summary>The environment variable holding the bearer token when <c>--token</c> is not given.</summary>
    public const string TokenVariable = "LEASE_TOKEN";

    // RFC 6750's b64token characters, before any '=' padding.
    private static readonly System.Buffers.SearchValues<char> BearerTokenChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");

    public Option<string?> TokenOption { get; } = new("--token")
    {
        Description = $"Bearer token (a JWT) for servers with authentication (default: ${TokenVariable})",
        Recursive = true,
    };

    public Option<string?> CertOption { get; } = new("--cert")
    {
        Description = "Client certificate (PEM) for servers that authenticate by certificate; needs --key",
        Recursive = true,
    };

    public Option<string?> KeyOption { get; } = new("--key")
    {
        Description = "Private key (PEM) of --cert",
        Recursive = true,
    };

    public Option<string?> CaOption { get; } = new("--ca")
    {
        Description = "CA certificate (PEM) the server's TLS certificate must chain to, instead of the system's",
        Recursive = true,
    };

    /// <summary>The deadline of each call when <c>--timeout</c> is not given: <see cref="LeaseClientOptions.CallTimeout"/>'s default.</summary>
    public static readonly TimeSpan DefaultTimeout = new LeaseClientOptions().CallTimeout;

    /// <summary>The longest <c>--timeout</c>.</summary>
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    public Option<TimeSpan> TimeoutOption { get; } = new("--timeout")
    {
        Description = $"Deadline of each call to the server: 500ms, 10s, 1m or 00:00:10 (default: {Durations.Format(DefaultTimeout)})",
        Recursive = true,
        DefaultValueFactory = _ => DefaultTimeout,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (DurationText.TryParse(text, out var value) && value > TimeSpan.Zero && value <= MaxTimeout)
            {
                return value;
            }

            result.AddError($"Failed to parse the argument to --timeout: '{text}' is not a duration above zero and at most 1 day, such as 10s, 500ms or 1m.");
            return default;
        },
    };

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public Func<TimeSpan, CancellationToken, Task> Delay { get; } = delay;

    /// <summary>Resolves the server, runs <paramref name="action"/> with a client, maps failures to exit codes.</summary>
    public async Task<int> RunAsync(ParseResult parse, string command, Func<LeaseClient, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        var server = ResolveServer(parse.GetValue(ServerOption), environment);

        var address = WithScheme(server);
        var timeout = parse.GetValue(TimeoutOption);
        LeaseClientOptions options;
        try
        {
            options = ClientOptions(parse) with { CallTimeout = timeout };
        }
        catch (BadCredentialException ex)
        {
            Error.WriteLine($"lease {command}: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            Error.WriteLine($"lease {command}: cannot read the certificate or key: {ex.Message}");
            return ExitCodes.Usage;
        }

        LeaseClient client;
        try
        {
            client = clientFactory(address, options);
        }
        catch (Exception ex) when (ex is ArgumentException or UriFormatException or InvalidOperationException)
        {
            // InvalidOperationException: Grpc.Net.Client knows no resolver for the scheme (ftp://, dns:///).
            // An ArgumentException's message ends in " (Parameter 'address')", which says nothing to a user.
            var reason = ex is ArgumentException { ParamName: { } parameter } ? ex.Message.Replace($" (Parameter '{parameter}')", string.Empty, StringComparison.Ordinal) : ex.Message;
            Error.WriteLine($"lease {command}: bad server address '{server}': {reason}");
            return ExitCodes.Usage;
        }

        using (client)
        {
            try
            {
                return await action(client, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException)
            {
                // Grpc.Net.Client reports a call cancelled by its token as RpcException CANCELLED.
                Error.WriteLine($"lease {command}: cancelled.");
                return ExitCodes.Failed;
            }
            catch (RpcException ex) when (IsUnreachable(ex))
            {
                Error.WriteLine($"lease {command}: cannot reach the server at {address}: {ex.Status.Detail}");
                return ExitCodes.Unreachable;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
            {
                // A server that accepts connections but does not answer (paused, overloaded, not a
                // LeaseService): Grpc.Net.Client's own deadline status has no detail to show.
                Error.WriteLine($"lease {command}: no answer from the server at {address} within {Durations.Format(timeout)} ({CodeName(ex.StatusCode)})");
                return ExitCodes.Unreachable;
            }
            catch (LeaseArgumentException ex)
            {
                Error.WriteLine($"lease {command}: invalid request: {ex.Status.Detail}");
                return ExitCodes.Usage;
            }
            catch (RpcException ex)
            {
                Error.WriteLine($"lease {command}: {Describe(ex)}");
                return ExitCodes.Failed;
            }
            catch (OperationCanceledException)
            {
                Error.WriteLine($"lease {command}: cancelled.");
                return ExitCodes.Failed;
            }
        }
    }

    /// <summary>The credentials of the options: <c>--token</c> (else <see cref="TokenVariable"/>), <c>--cert</c>/<c>--key</c>, <c>--ca</c>.</summary>
    private LeaseClientOptions ClientOptions(ParseResult parse)
    {
        var (token, source) = (parse.GetValue(TokenOption), "--token");
        if (string.IsNullOrWhiteSpace(token))
        {
            (token, source) = (environment(TokenVariable), "$" + TokenVariable);
        }

        token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        if (token is not null && !IsBearerToken(token))
        {
            // Sent as is it fails in the HTTP/2 layer, which reads as a server out of reach.
            throw new BadCredentialException($"bad token ({source}): a bearer token is ASCII letters, digits and -._~+/ with '=' only at its end");
        }

        var cert = parse.GetValue(CertOption);
        var key = parse.GetValue(KeyOption);
        if (string.IsNullOrEmpty(cert) != string.IsNullOrEmpty(key))
        {
            throw new BadCredentialException("--cert and --key go together");
        }

        var ca = parse.GetValue(CaOption);
        return new LeaseClientOptions
        {
            BearerToken = token,
            ClientCertificate = string.IsNullOrEmpty(cert) ? null : X509Certificate2.CreateFromPemFile(cert, key),
            ServerCertificateAuthority = string.IsNullOrEmpty(ca) ? null : X509CertificateLoader.LoadCertificateFromFile(ca),
        };
    }

    /// <summary>RFC 6750's b64token: what an Authorization header can carry after "Bearer ".</summary>
    private static bool IsBearerToken(string token)
        => token.AsSpan().TrimEnd('=') is { IsEmpty: false } body && body.IndexOfAnyExcept(BearerTokenChars) < 0;

    /// <summary>A credential option that cannot be used as given: a usage error.</summary>
    private sealed class BadCredentialException(string message) : Exception(message);

    /// <summary>
    /// The server address, or a comma-separated list of replicas' addresses, each without a scheme
    /// taken as <c>http://</c>: <c>a:5050,b:5050</c> → <c>http://a:5050,http://b:5050</c>.
    /// </summary>
    public static string WithScheme(string server) => string.Join(
        ',',
        server.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(address => address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address));

    /// <summary><c>--server</c>, else <see cref="ServerVariable"/>, else <see cref="DefaultServer"/>.</summary>
    public static string ResolveServer(string? option, Func<string, string?> environment)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return option;
        }

        var fromEnvironment = environment(ServerVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? DefaultServer : fromEnvironment;
    }

    /// <summary>A failure to connect (refused, reset, DNS), as opposed to an UNAVAILABLE the server sent.</summary>
    public static bool IsUnreachable(RpcException ex)
    {
        if (ex.StatusCode is not (StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal or StatusCode.Unknown))
        {
            return false;
        }

        for (Exception? e = ex.Status.DebugException ?? ex.InnerException; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or IOException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>detail (CODE)</c>, e.g. <c>no lease on /a (NOT_FOUND)</c>.</summary>
    public static string Describe(RpcException ex) => $"{ex.Status.Detail} ({CodeName(ex.StatusCode)})";

    public static string CodeName(StatusCode code) => code switch
    {
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.Aborted => "ABORTED",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.Cancelled => "CANCELLED",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Internal => "INTERNAL",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        _ => code.ToString().ToUpperInvariant(),
    };

    public static string StateName(LeaseState state) => state switch
    {
        LeaseState.Active => "ACTIVE",
        LeaseState.SoftExpired => "SOFT_EXPIRED",
        LeaseState.Recovering => "RECOVERING",
        _ => "UNSPECIFIED",
    };

    public static string StateName(BlockState state) => state switch
    {
        BlockState.UnderConstruction => "UNDER_CONSTRUCTION",
        BlockState.UnderRecovery => "UNDER_RECOVERY",
        BlockState.Committed => "COMMITTED",
        BlockState.Complete => "COMPLETE",
        _ => "UNSPECIFIED",
    };

    public static string StateName(ReplicaState state) => state switch
    {
        ReplicaState.Finalized => "FINALIZED",
        ReplicaState.Rbw => "RBW",
        ReplicaState.Rwr => "RWR",
        ReplicaState.Rur => "RUR",
        ReplicaState.Temporary => "TEMPORARY",
        _ => "UNSPECIFIED",
    };
}
