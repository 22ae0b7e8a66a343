using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Tests.Infrastructure;

namespace Gateway.Tests.EndToEnd;

/// <summary>
/// Issue 9, defect 8: https:// listeners with PEM certificates, SNI, HTTP/2 over TLS and rotation on reload, driven by
/// a real HttpClient that trusts exactly the certificate generated here (pinned, no system trust store involved).
/// </summary>
public sealed class TlsListenerTests
{
    private const string Toml = """
        [server.tls]
        certificate = "default.pem"
        key = "default.key"

          [[server.tls.sni]]
          names = ["chat.example.test", "*.rooms.example.test"]
          certificate = "chat.pem"
          key = "chat.key"
        """;

    internal static X509Certificate2 SelfSigned(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    internal static Dictionary<string, string> Pem(string name, X509Certificate2 cert) => new()
    {
        [name + ".pem"] = cert.ExportCertificatePem(),
        [name + ".key"] = cert.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(),
    };

    /// <summary>One request on a new connection; returns the certificate the server presented and the HTTP version.</summary>
    private static async Task<(string Thumbprint, Version Version)> GetAsync(string baseUrl, string serverName, Version version, params X509Certificate2[] pinned)
    {
        string? seen = null;
        var listener = new Uri(baseUrl);
        using var handler = new SocketsHttpHandler
        {
            // The URL carries the server name (so it is the SNI name); the connection goes to the test listener.
            ConnectCallback = async (_, cancel) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                await socket.ConnectAsync(listener.Host, listener.Port, cancel);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, _, _) =>
            {
                seen = cert is null ? null : new X509Certificate2(cert).Thumbprint;
                return seen is not null && pinned.Any(p => p.Thumbprint == seen);
            },
        };
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"https://{serverName}:{listener.Port}/_gateway/health"))
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (seen!, response.Version);
    }

    [Fact]
    public async Task Https_Http11AndHttp2_SniPicksTheRightCertificate()
    {
        using var fallback = SelfSigned("default.example.test");
        using var chat = SelfSigned("chat.example.test");
        var files = Pem("default", fallback).Concat(Pem("chat", chat)).ToDictionary();
        await using var gw = await GatewayHost.StartAsync(Toml, files, listen: "https://127.0.0.1:0");
        var url = gw.App.Urls.Single();
        Assert.StartsWith("https://", url);

        var h1 = await GetAsync(url, "chat.example.test", HttpVersion.Version11, fallback, chat);
        Assert.Equal((chat.Thumbprint, HttpVersion.Version11), h1);
        var h2 = await GetAsync(url, "chat.example.test", HttpVersion.Version20, fallback, chat);
        Assert.Equal((chat.Thumbprint, HttpVersion.Version20), h2);
        Assert.Equal(chat.Thumbprint, (await GetAsync(url, "lobby.rooms.example.test", HttpVersion.Version20, fallback, chat)).Thumbprint);
        Assert.Equal(fallback.Thumbprint, (await GetAsync(url, "other.example.test", HttpVersion.Version11, fallback, chat)).Thumbprint);
        Assert.Equal(fallback.Thumbprint, (await GetAsync(url, "a.b.rooms.example.test", HttpVersion.Version11, fallback, chat)).Thumbprint);
    }

    [Fact]
    public async Task Https_PemFilesRewritten_NewConnectionsGetTheNewCertificateWithoutRestart()
    {
        using var first = SelfSigned("default.example.test");
        using var chat = SelfSigned("chat.example.test");
        using var second = SelfSigned("default.example.test");
        var files = Pem("default", first).Concat(Pem("chat", chat)).ToDictionary();
        await using var gw = await GatewayHost.StartAsync(Toml, files, listen: "https://127.0.0.1:0");
        var url = gw.App.Urls.Single();
        Assert.Equal(first.Thumbprint, (await GetAsync(url, "x.example.test", HttpVersion.Version11, first, second)).Thumbprint);

        foreach (var (name, content) in Pem("default", second))
        {
            await File.WriteAllTextAsync(Path.Combine(gw.Directory, name), content);
        }

        // The watcher reloads when an included file changes; tests reload explicitly so as not to race it.
        Assert.Contains(Path.Combine(gw.Directory, "default.pem"), gw.Service<Runtime.GatewayState>().Current.Config.IncludedFiles);
        Assert.True(gw.Service<ConfigReloader>().Reload(gw.ConfigPath).Ok);

        Assert.Equal(second.Thumbprint, (await GetAsync(url, "x.example.test", HttpVersion.Version20, first, second)).Thumbprint);
        Assert.Equal(chat.Thumbprint, (await GetAsync(url, "chat.example.test", HttpVersion.Version11, chat)).Thumbprint);
    }

    [Fact]
    public void Validate_HttpsProblems_NameTheKey()
    {
        using var a = SelfSigned("a.example.test");
        using var b = SelfSigned("b.example.test");
        var dir = Path.Combine(Path.GetTempPath(), "gateway-tls-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.pem"), a.ExportCertificatePem());
            File.WriteAllText(Path.Combine(dir, "a.key"), a.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(dir, "b.key"), b.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(dir, "junk.pem"), "not a certificate\n");
            string[] Errors(string toml) =>
                ConfigLoader.Load(toml, Path.Combine(dir, "gateway.toml")).Errors.Select(e => e.ToString()).ToArray();

            Assert.Contains("gateway.toml:2:1: server.listen: an https:// listener needs a certificate: set server.tls.certificate and server.tls.key (PEM files)",
                Errors("[server]\nlisten = [\"https://127.0.0.1:8443\"]\n"));
            Assert.Contains(Errors("[server]\nlisten = [\"https://127.0.0.1:8443\"]\n[server.tls]\ncertificate = \"nope.pem\"\nkey = \"a.key\"\n"),
                e => e.StartsWith("gateway.toml:4:1: server.tls.certificate: certificate file \"nope.pem\" does not exist", StringComparison.Ordinal));
            Assert.Contains(Errors("[server.tls]\ncertificate = \"junk.pem\"\nkey = \"a.key\"\n"),
                e => e.StartsWith("gateway.toml:2:1: server.tls.certificate: \"junk.pem\" holds no PEM certificate", StringComparison.Ordinal));
            Assert.Contains(Errors("[server.tls]\ncertificate = \"a.pem\"\nkey = \"b.key\"\n"),
                e => e.StartsWith("gateway.toml:3:1: server.tls.key: \"b.key\" is not a PEM private key for the certificate in \"a.pem\"", StringComparison.Ordinal));
            Assert.Contains(Errors("[server.tls]\ncertificate = \"a.pem\"\nkey = \"a.key\"\n[[server.tls.sni]]\nnames = [\"bad name\"]\ncertificate = \"a.pem\"\nkey = \"a.key\"\n"),
                e => e.StartsWith("gateway.toml:5:1: server.tls.sni[0].names: \"bad name\" is not a server name", StringComparison.Ordinal));
            Assert.Contains(Errors("[server.tls]\ncertificate = \"a.pem\"\n"), e => e.Contains("server.tls.key: is required", StringComparison.Ordinal));
            Assert.Empty(Errors("[server]\nlisten = [\"https://127.0.0.1:8443\"]\n[server.tls]\ncertificate = \"a.pem\"\nkey = \"a.key\"\n"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
