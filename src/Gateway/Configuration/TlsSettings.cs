using Gateway.Protocols.Configuration;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Configuration;

/// <summary>One certificate with its private key and the intermediates that follow it in the PEM file.</summary>
internal sealed class TlsCertificate
{
    private readonly Lazy<SslStreamCertificateContext> _context;

    public TlsCertificate(IReadOnlyList<string> names, X509Certificate2 certificate, X509Certificate2Collection intermediates)
    {
        Names = names;
        Certificate = certificate;
        // Built once per config version, not per handshake; offline: the chain comes from the PEM file.
        _context = new Lazy<SslStreamCertificateContext>(() => SslStreamCertificateContext.Create(certificate, intermediates, offline: true));
    }

    /// <summary>SNI names this certificate answers ("chat.example.org", "*.example.org"); empty for the default.</summary>
    public IReadOnlyList<string> Names { get; }

    public X509Certificate2 Certificate { get; }

    public SslStreamCertificateContext Context => _context.Value;

    public bool Answers(string serverName, bool wildcard)
    {
        foreach (var n in Names)
        {
            if (!wildcard && string.Equals(n, serverName, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            // "*.example.org" covers exactly one more label: a.example.org, not example.org or a.b.example.org.
            if (wildcard && n.StartsWith("*.", StringComparison.Ordinal) && serverName.Length > n.Length - 1
                && serverName.EndsWith(n.AsSpan(1), StringComparison.OrdinalIgnoreCase)
                && serverName.AsSpan(0, serverName.Length - (n.Length - 1)).IndexOf('.') < 0)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// [server.tls]: the default certificate and key (PEM), and [[server.tls.sni]] entries for other names. Read with the
/// config, so a reload (the watcher sees the PEM files change, or SIGHUP) swaps certificates for new connections.
/// </summary>
internal sealed record TlsSettings
{
    public required TlsCertificate Default { get; init; }

    public IReadOnlyList<TlsCertificate> Sni { get; init; } = Array.Empty<TlsCertificate>();

    /// <summary>The certificate for a TLS client hello: an exact SNI name, then a wildcard, then the default.</summary>
    public TlsCertificate Select(string? serverName)
    {
        if (!string.IsNullOrEmpty(serverName))
        {
            foreach (var wildcard in new[] { false, true })
            {
                foreach (var c in Sni)
                {
                    if (c.Answers(serverName, wildcard))
                    {
                        return c;
                    }
                }
            }
        }

        return Default;
    }

    public static TlsSettings? Read(TomlTableReader? t, string baseDir, List<string> included, long maxBytes)
    {
        if (t is null)
        {
            return null;
        }

        var main = ReadPair(t, Array.Empty<string>(), baseDir, included, maxBytes);
        var sni = new List<TlsCertificate>();
        foreach (var s in t.TableArray("sni"))
        {
            var names = s.StringList("names");
            if (names.Count == 0)
            {
                s.Error("names", "name at least one server name, like [\"chat.example.org\"] or [\"*.example.org\"]");
            }

            foreach (var n in names)
            {
                var bare = n.StartsWith("*.", StringComparison.Ordinal) ? n[2..] : n;
                if (bare.Length == 0 || bare.Contains('*') || Uri.CheckHostName(bare) != UriHostNameType.Dns)
                {
                    s.Error("names", $"\"{n}\" is not a server name (a DNS name, optionally starting with \"*.\")");
                }
            }

            if (ReadPair(s, names, baseDir, included, maxBytes) is { } c)
            {
                sni.Add(c);
            }

            s.Finish();
        }

        t.Finish();
        return main is null ? null : new TlsSettings { Default = main, Sni = sni };
    }

    private static TlsCertificate? ReadPair(TomlTableReader t, IReadOnlyList<string> names, string baseDir, List<string> included, long maxBytes)
    {
        var certFile = t.String("certificate", required: true);
        var keyFile = t.String("key", required: true);
        if (string.IsNullOrEmpty(certFile) || string.IsNullOrEmpty(keyFile))
        {
            return null;
        }

        var certPem = ConfigLoader.ReadListedFile(t, "certificate", "certificate file", certFile, baseDir, included, maxBytes);
        var keyPem = ConfigLoader.ReadListedFile(t, "key", "key file", keyFile, baseDir, included, maxBytes);
        if (certPem is null || keyPem is null)
        {
            return null;
        }

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certPem);
        }
        catch (CryptographicException ex)
        {
            t.Error("certificate", $"\"{certFile}\" is not a valid PEM certificate: {ex.Message}");
            return null;
        }

        if (all.Count == 0)
        {
            t.Error("certificate", $"\"{certFile}\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
            return null;
        }

        X509Certificate2 leaf;
        try
        {
            // The first certificate is the server's; the rest are intermediates sent with it.
            leaf = X509Certificate2.CreateFromPem(certPem, keyPem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            // ArgumentException: a well-formed key that belongs to another certificate.
            t.Error("key", $"\"{keyFile}\" is not a PEM private key for the certificate in \"{certFile}\": {ex.Message}");
            return null;
        }

        if (!leaf.HasPrivateKey)
        {
            t.Error("key", $"\"{keyFile}\" holds no private key");
            return null;
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        return new TlsCertificate(names, leaf, intermediates);
    }
}
