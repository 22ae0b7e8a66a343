using Gateway.Telemetry;

namespace Gateway.Tests.Operations;

/// <summary>The text rules behind the redacting logger (issue 9, defect 5), on lines real components write.</summary>
public sealed class LogRedactorTests
{
    private const string Secret = "S3cr3tTok";

    [Theory]
    [InlineData("Request starting HTTP/1.1 GET http://gw/_matrix/client/v3/sync?since=s1&access_token=S3cr3tTok - - -")]
    [InlineData("Proxying to http://backend/api/messages?access_token=S3cr3tTok HTTP/2 RequestVersionOrLower")]
    [InlineData("Connection id \"0HN\" bad request data: \"Invalid request header: 'Authorization Bearer S3cr3tTok\\x0D\\x0A'\"")]
    [InlineData("Connection id \"0HN\" bad request data: \"Invalid request line: 'GET /sync?access_token=S3cr3tTok\\x01 HTTP/1.1\\x0D\\x0A'\"")]
    [InlineData("Authorization: Bearer S3cr3tTok")]
    [InlineData("Cookie: session=S3cr3tTok; theme=dark")]
    [InlineData("X-SOGS-Signature: S3cr3tTok")]
    [InlineData("X-Matrix origin=\"a.example\",key=\"ed25519:k\",sig=\"S3cr3tTok\"")]
    [InlineData("the client sent Bearer S3cr3tTok")]
    [InlineData("form body access_token=S3cr3tTok&x=1")]
    [InlineData("{\"access_token\": \"S3cr3tTok\"}")]
    [InlineData("connecting to https://bot:S3cr3tTok@hooks.example/path")]
    public void Redact_LineWithCredential_LosesIt(string line) =>
        Assert.DoesNotContain(Secret, LogRedactor.Redact(line), StringComparison.Ordinal);

    [Theory]
    [InlineData("Gateway listening on http://127.0.0.1:8080 (config version 1, 3 filters, 4 keywords, 1 regexes)")]
    [InlineData("Verdict drop by filter shops on route chat#0 (json, direct=True)")]
    [InlineData("Request finished HTTP/1.1 POST http://gw/api/messages - 201 - application/json 2.8794ms")]
    [InlineData("Is this a question? Yes.")]
    public void Redact_LineWithoutCredential_IsUnchanged(string line) => Assert.Equal(line, LogRedactor.Redact(line));

    [Fact]
    public void ModuleDeclaredCredentialHeaders_AreSensitiveKeysToo()
    {
        // x-sogs- comes from the SOGS module's CredentialHeaders, X-Matrix from the Matrix module's AuthorizationSchemes.
        Assert.Equal(LogRedactor.Redacted, LogRedactor.RedactValue("X-SOGS-Nonce", Secret));
        Assert.Equal("X-Matrix " + LogRedactor.Redacted, LogRedactor.Redact("X-Matrix origin=\"a.example\",sig=\"" + Secret + "\""));
    }

    [Fact]
    public void RedactValue_StructuredValues_QueryAndHeadersGoNumbersStay()
    {
        Assert.Equal(LogRedactor.Redacted, LogRedactor.RedactValue("QueryString", "?access_token=" + Secret));
        Assert.Equal("", LogRedactor.RedactValue("QueryString", ""));
        Assert.Equal(LogRedactor.Redacted, LogRedactor.RedactValue("Authorization", "Bearer " + Secret));
        Assert.Equal(LogRedactor.Redacted, LogRedactor.RedactValue("url.query", "access_token=" + Secret));
        Assert.Equal("http://b/sync?[redacted]", LogRedactor.RedactValue("targetUrl", new Uri("http://b/sync?access_token=" + Secret)));
        Assert.Equal(201, LogRedactor.RedactValue("StatusCode", 201));
        Assert.Equal("/api/messages", LogRedactor.RedactValue("Path", "/api/messages"));
    }
}
