using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Tests.Sogs;
using Google.Protobuf;

/// <summary>
/// SOGS: <c>POST /room/{token}/message</c> signed as Session signs it (X-SOGS-Pubkey/Nonce/Timestamp/Signature over
/// the server key, nonce, timestamp, method, path and the body's BLAKE2b; the post's <c>data</c> signed by the poster).
/// Most users sign with their blinded <c>15…</c> key; some with the unblinded <c>00…</c> key. Posts are signed, so
/// the gateway never censors: a censor verdict becomes a reject (<c>censor_fallback</c>), a drop SOGS's own
/// <c>filtered</c> 201, a reject SOGS's 429 with the reason.
/// A third of the posts travel as Session sends them through the onion network: the same signed request wrapped in a
/// v4 onion request to <c>/oxen/v4/lsrpc</c> (encrypted to the server's X25519 key, AES-GCM or XChaCha20 at random).
/// The gateway holds the key (<c>x25519_key_file</c>) to read them and forwards clean ones byte for byte; the fake SOGS
/// decrypts them as session-pysogs does and answers inside the onion, and so does the gateway for its own verdicts.
/// </summary>
internal sealed class SogsLoad : ILoad
{
    private readonly HttpClient _client;
    private readonly byte[] _serverPrivate = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _serverPubkey;
    private readonly string _keyFile;
    private readonly SogsClient[] _users = Enumerable.Range(0, 20).Select(_ => SogsClient.Random()).ToArray();
    private long _ids;
    private long _seqno;

    public SogsLoad(int port, HttpClient client, string dir)
    {
        _client = client;
        _serverPubkey = OnionWire.PublicKey(_serverPrivate);
        _keyFile = Path.Combine(dir, "sogs_x25519");
        File.WriteAllBytes(_keyFile, _serverPrivate);
        Upstream = new FakeUpstream(port, Map);
    }

    public IReadOnlyList<string> Rows { get; } = ["sogs", "sogs-onion"];

    public string RowFor(long id) => id % 3 == 0 ? Rows[1] : Rows[0];

    public Tally Tally { get; } = new();

    public Tally OnionTally { get; } = new();

    public FakeUpstream Upstream { get; }

    public string ServerPubkeyHex => Convert.ToHexStringLower(_serverPubkey);

    public string Config() => $$"""
        [[backends]]
        name = "sogs"
        protocol = "sogs"
        upstreams = ["{{Upstream.Url}}"]
          [[backends.routes]]
          path = "/room"
          [[backends.routes]]
          path = "/oxen/v4/lsrpc"
          [backends.sogs]
          server_pubkey = "{{Convert.ToHexStringLower(_serverPubkey)}}"
          x25519_key_file = "{{_keyFile}}"
          require_blind_keys = false
          # Full before the 5-minute RSS sample (the default, 200,000, fills over hours): see MatrixLoad's dropped_ids.
          nonce_capacity = 1000
        """;

    public async Task<(string Row, string Kind, string Outcome)> SendAsync(long id, Random random, CancellationToken ct)
    {
        var kind = Outcomes.Kind(random);
        var user = _users[random.Next(_users.Length)];
        var blinded = random.Next(100) < 20; // blinded signing is this rig's own slow point maths: a fifth of the posts
        var target = $"/room/lobby{random.Next(3)}/message";
        var body = Encoding.UTF8.GetBytes(user.Post(Texts.Text(id, kind, random)).ToJsonString());
        if (RowFor(id) == Rows[1])
        {
            return await OnionSendAsync(kind, random, target, user.Sign(_serverPubkey, "POST", target, body, blinded, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()), body, ct);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        foreach (var (k, v) in user.Sign(_serverPubkey, "POST", target, body, blinded, TimeProvider.System.GetUtcNow().ToUnixTimeSeconds()))
        {
            request.Headers.TryAddWithoutValidation(k, v);
        }

        using var response = await _client.SendAsync(request, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        var status = (int)response.StatusCode;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = status switch
        {
            201 when upstream && answer.Contains("\"seqno\"", StringComparison.Ordinal) => Outcomes.Delivered,
            201 when !upstream && answer.Contains("\"filtered\":true", StringComparison.Ordinal) => Outcomes.Dropped,
            429 when !upstream => Outcomes.Rejected,
            _ when Texts.IsRefusal(status) => Outcomes.Refused,
            _ => Outcomes.Unexpected("sogs", status, answer),
        };
        return ("sogs", kind, outcome);
    }

    private async Task<(string Row, string Kind, string Outcome)> OnionSendAsync(string kind, Random random, string target, Dictionary<string, string> headers,
        byte[] body, CancellationToken ct)
    {
        headers["Content-Type"] = "application/json";
        var onion = new OnionClient(_serverPubkey, random.Next(2) == 0 ? "xchacha20" : null);
        using var content = new ByteArrayContent(onion.V4("POST", target, headers, body));
        using var response = await _client.PostAsync("/oxen/v4/lsrpc", content, ct);
        var reply = await response.Content.ReadAsByteArrayAsync(ct);
        var status = (int)response.StatusCode;
        if (status != 200)
        {
            return (Rows[1], kind, Texts.IsRefusal(status) ? Outcomes.Refused : Outcomes.Unexpected("sogs-onion", status, Encoding.UTF8.GetString(reply)));
        }

        string meta, answer;
        try
        {
            var (m, b) = onion.OpenV4(reply);
            (meta, answer) = (m, Encoding.UTF8.GetString(b));
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidDataException or Org.BouncyCastle.Crypto.InvalidCipherTextException)
        {
            return (Rows[1], kind, Outcomes.Unexpected("sogs-onion", status, "a reply the client cannot open: " + ex.GetType().Name));
        }

        var code = (int?)JsonNode.Parse(meta)?["code"] ?? 0;
        var upstream = HttpAnswers.FromUpstream(response);
        var outcome = code switch
        {
            201 when upstream && answer.Contains("\"seqno\"", StringComparison.Ordinal) => Outcomes.Delivered,
            201 when !upstream && answer.Contains("\"filtered\":true", StringComparison.Ordinal) => Outcomes.Dropped,
            429 when !upstream => Outcomes.Rejected,
            _ when Texts.IsRefusal(code) => Outcomes.Refused,
            _ => Outcomes.Unexpected("sogs-onion", code, meta + " " + answer),
        };
        return (Rows[1], kind, outcome);
    }

    /// <summary>The text of a post's <c>data</c>: Session's padding (0x80 then zeros) off, then Content.dataMessage.body.</summary>
    private static string? PostText(string? data)
    {
        if (data is null)
        {
            return null;
        }

        var bytes = Convert.FromBase64String(data);
        var end = bytes.Length;
        while (end > 0 && bytes[end - 1] == 0)
        {
            end--;
        }

        if (end > 0 && bytes[end - 1] == 0x80)
        {
            end--;
        }

        var content = new CodedInputStream(bytes, 0, end);
        uint tag;
        while ((tag = content.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1)
            {
                content.SkipLastField();
                continue;
            }

            var dataMessage = new CodedInputStream(content.ReadBytes().ToByteArray());
            while ((tag = dataMessage.ReadTag()) != 0)
            {
                if (WireFormat.GetTagFieldNumber(tag) == 1)
                {
                    return dataMessage.ReadString();
                }

                dataMessage.SkipLastField();
            }
        }

        return null;
    }

    private void Map(WebApplication app)
    {
        // session-pysogs routes/onion_request.py: decrypt, handle the inner request, answer inside the onion.
        app.MapPost("/oxen/v4/lsrpc", async (HttpContext c) =>
        {
            if (OnionFakeSogs.Open(await c.Request.ReadBodyAsync(), _serverPrivate) is not { } onion || onion.Parts.Count != 2)
            {
                c.Response.StatusCode = 400;
                return;
            }

            var request = JsonNode.Parse(onion.Parts[0]);
            if (request?["headers"]?["X-SOGS-Signature"] is null)
            {
                await onion.ReplyAsync(c, 401, "X-SOGS-* request authentication required"u8.ToArray());
                return;
            }

            var post = JsonNode.Parse(onion.Parts[1]);
            OnionTally.Saw(PostText((string?)post?["data"]));
            await onion.ReplyAsync(c, 201, Encoding.UTF8.GetBytes(new JsonObject
            {
                ["id"] = Interlocked.Increment(ref _ids),
                ["session_id"] = (string?)request["headers"]?["X-SOGS-Pubkey"],
                ["posted"] = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
                ["seqno"] = Interlocked.Increment(ref _seqno),
                ["data"] = (string?)post?["data"],
                ["signature"] = (string?)post?["signature"],
                ["reactions"] = new JsonObject(),
            }.ToJsonString()));
        });
        app.MapPost("/room/{token}/message", async (HttpContext c) =>
        {
            if (!c.Request.Headers.ContainsKey("X-SOGS-Signature"))
            {
                c.Response.StatusCode = 401;
                await c.Response.WriteAsync("X-SOGS-* request authentication required");
                return;
            }

            var body = JsonNode.Parse(await c.Request.ReadBodyAsync());
            Tally.Saw(PostText((string?)body?["data"]));
            c.Response.StatusCode = 201;
            await c.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = Interlocked.Increment(ref _ids),
                ["session_id"] = c.Request.Headers["X-SOGS-Pubkey"].ToString(),
                ["posted"] = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0,
                ["seqno"] = Interlocked.Increment(ref _seqno),
                ["data"] = (string?)body?["data"],
                ["signature"] = (string?)body?["signature"],
                ["reactions"] = new JsonObject(),
            });
        });
    }
}
