using System.Net;
using System.Net.Security;
using Gateway.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gateway.Transports;

/// <summary>
/// Binds the config's listen URLs on Kestrel explicitly. `http://` as before; `https://` with the certificate the
/// live config names for the client's SNI name (so a reload rotates certificates for new connections), ALPN h2 and
/// http/1.1. UseUrls alone would crash at start on an https URL (no certificate; issue 9, defect 8).
/// </summary>
internal static class Listeners
{
    public static void Bind(KestrelServerOptions kestrel, IEnumerable<string> urls, Func<TlsSettings?> currentTls)
    {
        foreach (var url in urls)
        {
            var uri = new Uri(url);
            var https = uri.Scheme == Uri.UriSchemeHttps;
            Action<ListenOptions> configure = https ? lo => UseTls(lo, currentTls) : _ => { };
            if (IPAddress.TryParse(uri.IdnHost, out var ip))
            {
                kestrel.Listen(ip, uri.Port, configure);
            }
            else if (string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase))
            {
                // Kestrel's localhost binding (v4 and v6) cannot take port 0; tests and dynamic ports get 127.0.0.1.
                if (uri.Port == 0)
                {
                    kestrel.Listen(IPAddress.Loopback, 0, configure);
                }
                else
                {
                    kestrel.ListenLocalhost(uri.Port, configure);
                }
            }
            else
            {
                // A host name binds every address, as Kestrel does for such URLs.
                kestrel.ListenAnyIP(uri.Port, configure);
            }
        }
    }

    private static void UseTls(ListenOptions listen, Func<TlsSettings?> currentTls)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        var first = currentTls() ?? throw new InvalidOperationException("an https listener needs [server.tls]; ConfigLoader checks this");
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = context =>
            {
                // A reload that drops [server.tls] needs a restart for its listeners: keep serving the last one.
                var tls = currentTls() ?? first;
                var certificate = tls.Select(context.ClientHelloInfo.ServerName);
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = certificate.Context,
                    ApplicationProtocols = new List<SslApplicationProtocol> { SslApplicationProtocol.Http2, SslApplicationProtocol.Http11 },
                });
            },
        });
    }
}
