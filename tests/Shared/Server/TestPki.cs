using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LeaseService.Testing;

/// <summary>
/// A throwaway certificate authority made in the test: a CA, a server certificate for 127.0.0.1
/// and localhost, and client certificates by CN, written as PEM files to a temporary directory.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("leaseservice-pki-");

    public TestPki(string caName = "LeaseService Test CA")
    {
        Ca = CreateAuthority(caName);
        CaPath = Write("ca.crt", Ca.ExportCertificatePem());
        using var server = Issue("CN=localhost", ServerAuth, san: true);
        ServerCertificatePath = Write("server.crt", server.ExportCertificatePem());
        ServerKeyPath = Write("server.key", server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>The CA, with its private key.</summary>
    public X509Certificate2 Ca { get; }

    public string CaPath { get; }

    public string ServerCertificatePath { get; }

    public string ServerKeyPath { get; }

    /// <summary>A client certificate (with its key) whose subject CN is <paramref name="commonName"/>.</summary>
    public X509Certificate2 IssueClient(string commonName) => Issue($"CN={commonName}", ClientAuth, san: false);

    /// <summary>A client certificate (with its key) whose subject is the distinguished name <paramref name="subject"/>, e.g. <c>L=ops</c>.</summary>
    public X509Certificate2 IssueClientWithSubject(string subject) => Issue(subject, ClientAuth, san: false);

    /// <summary>A client certificate and key written as PEM files (for the CLI).</summary>
    public (string Certificate, string Key) WriteClient(string commonName)
    {
        using var client = IssueClient(commonName);
        return (Write(commonName + ".crt", client.ExportCertificatePem()), Write(commonName + ".key", client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()));
    }

    public void Dispose()
    {
        Ca.Dispose();
        _directory.Delete(recursive: true);
    }

    private static X509Certificate2 CreateAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
    }

    private X509Certificate2 Issue(string subject, Oid usage, bool san)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        if (san)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddDnsName("localhost");
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        using var issued = request.Create(Ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }

    private string Write(string name, string pem)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllText(path, pem);
        return path;
    }
}
