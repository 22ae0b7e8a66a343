using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Math.EC.Rfc7748;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace Gateway.Tests.Sogs;

/// <summary>
/// A SOGS on loopback that follows session-pysogs' HTTP API for what the gateway touches, and checks X-SOGS-* auth
/// the way <c>sogs/routes/auth.py</c> does (prefixes, require_blind_keys, ±24 h, nonce reuse, signature over server
/// key ‖ nonce ‖ timestamp ‖ method ‖ path[?query] ‖ BLAKE2b-512(body)) — so a request the gateway forwards after
/// tampering would fail here. Posts answer 201 with the message JSON, edits {}, batches a list of sub-responses.
/// </summary>
internal sealed class FakeSogs : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HashSet<string> _nonces = new();
    private long _id;
    private long _seqno;

    private FakeSogs(WebApplication app, byte[] privateKey)
    {
        _app = app;
        PrivateKey = privateKey;
        X25519.GeneratePublicKey(privateKey, 0, Pubkey, 0);
    }

    public byte[] PrivateKey { get; }

    public byte[] Pubkey { get; } = new byte[32];

    public string PubkeyHex => Convert.ToHexStringLower(Pubkey);

    public string Url { get; private set; } = "";

    public bool RequireBlindKeys { get; set; } = true;

    /// <summary>Every request that reached SOGS: method, path and query, status answered.</summary>
    public ConcurrentQueue<(string Method, string Target, int Status)> Requests { get; } = new();

    /// <summary>Posts stored: room, session id, data (base64).</summary>
    public ConcurrentQueue<(string Room, string SessionId, string Data)> Posts { get; } = new();

    public static async Task<FakeSogs> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeSogs(app, RandomNumberGenerator.GetBytes(32));
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        fake.Url = app.Urls.First();
        return fake;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        using var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms);
        var body = ms.ToArray();
        var target = ctx.Request.Path.Value + ctx.Request.QueryString.Value;
        var (status, type, answer) = Handle(ctx.Request, body);
        Requests.Enqueue((ctx.Request.Method, target, status));
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = type;
        await ctx.Response.Body.WriteAsync(answer);
    }

    private (int, string, byte[]) Handle(HttpRequest request, byte[] body)
    {
        var (user, status, reason) = Authenticate(request, body);
        if (reason is not null)
        {
            return (status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(reason));
        }

        return Route(request.Method, request.Path.Value ?? "", body, user);
    }

    private (int, string, byte[]) Route(string method, string path, byte[] body, string? user)
    {
        var parts = path.Trim('/').Split('/');
        if (method == "POST" && path is "/batch" or "/sequence")
        {
            return Batch(body, user, path == "/sequence");
        }

        if (user is null && method != "GET")
        {
            return (401, "text/plain; charset=utf-8", "X-SOGS-* request authentication required"u8.ToArray());
        }

        if (method == "POST" && parts is ["room", var room, "message"])
        {
            var json = JsonNode.Parse(body)!.AsObject();
            var data = (string)json["data"]!;
            Posts.Enqueue((room, user!, data));
            var msg = new JsonObject
            {
                ["id"] = Interlocked.Increment(ref _id),
                ["session_id"] = user,
                ["posted"] = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).ToUnixTimeSeconds() + 0.5,
                ["seqno"] = Interlocked.Increment(ref _seqno),
                ["data"] = data,
                ["signature"] = (string?)json["signature"],
                ["reactions"] = new JsonObject(),
            };
            return (201, "application/json", Encoding.UTF8.GetBytes(msg.ToJsonString()));
        }

        if (method == "PUT" && parts is ["room", var edited, "message", _])
        {
            Posts.Enqueue((edited, user!, (string)JsonNode.Parse(body)!["data"]!));
            return (200, "application/json", "{}"u8.ToArray());
        }

        if (method == "POST" && parts is ["inbox", var recipient])
        {
            var m = new JsonObject { ["id"] = Interlocked.Increment(ref _id), ["sender"] = user, ["recipient"] = recipient, ["posted_at"] = 1_700_000_000.0 };
            return (201, "application/json", Encoding.UTF8.GetBytes(m.ToJsonString()));
        }

        if (method == "POST" && parts is ["room", _, "file"])
        {
            return (201, "application/json", Encoding.UTF8.GetBytes($$"""{"id":{{Interlocked.Increment(ref _id)}}}"""));
        }

        return (200, "application/json", "{}"u8.ToArray());
    }

    private (int, string, byte[]) Batch(byte[] body, string? user, bool sequence)
    {
        var list = new JsonArray();
        foreach (var sub in JsonNode.Parse(body)!.AsArray())
        {
            var method = (string)sub!["method"]!;
            var path = (string)sub["path"]!;
            var subBody = sub["json"] is { } j ? Encoding.UTF8.GetBytes(j.ToJsonString()) : sub["b64"] is { } b ? Convert.FromBase64String((string)b!) : Array.Empty<byte>();
            var (code, type, answer) = Route(method, path, subBody, user);
            list.Add(new JsonObject
            {
                ["code"] = code,
                ["headers"] = new JsonObject { ["content-type"] = type },
                ["body"] = type == "application/json" ? JsonNode.Parse(answer) : Convert.ToBase64String(answer),
            });
            if (sequence && code is < 200 or >= 300)
            {
                break;
            }
        }

        return (200, "application/json", Encoding.UTF8.GetBytes(list.ToJsonString()));
    }

    /// <summary>auth.py handle_http_auth, in the same order with the same answers.</summary>
    private (string? User, int Status, string? Reason) Authenticate(HttpRequest request, byte[] body)
    {
        string? H(string n) => request.Headers.TryGetValue(n, out var v) ? v.ToString() : null;
        var pk = H("X-SOGS-Pubkey");
        var nonce = H("X-SOGS-Nonce");
        var ts = H("X-SOGS-Timestamp");
        var sig = H("X-SOGS-Signature");
        var missing = new[] { pk, nonce, ts, sig }.Count(string.IsNullOrEmpty);
        if (missing == 4)
        {
            return (null, 0, null);
        }

        if (missing > 0)
        {
            return (null, 400, $"Invalid authentication headers: missing {missing}/4 required X-SOGS-* headers");
        }

        var key = Decode(pk!, 33);
        if (key is null || key[0] is not (0x00 or 0x15))
        {
            return (null, 400, "Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed");
        }

        if (key[0] == 0x00 && RequireBlindKeys)
        {
            return (null, 400, "Invalid authentication: this server requires the use of blinded ids");
        }

        var n = Decode(nonce!, 16);
        var s = Decode(sig!, 64);
        if (n is null || s is null || !long.TryParse(ts, out var t))
        {
            return (null, 400, "Invalid authentication headers");
        }

        if (Math.Abs(DateTimeOffset.UnixEpoch.AddSeconds(t).ToUnixTimeSeconds() - RealNow()) > 86400)
        {
            return (null, 425, "Invalid authentication: X-SOGS-Timestamp is too far from current time");
        }

        var user = Convert.ToHexStringLower(key);
        lock (_nonces)
        {
            if (!_nonces.Add(user + Convert.ToHexString(n)))
            {
                return (null, 425, "Invalid authentication: X-SOGS-Nonce cannot be reused");
            }
        }

        var msg = new List<byte>();
        msg.AddRange(Pubkey);
        msg.AddRange(n);
        msg.AddRange(Encoding.ASCII.GetBytes(ts!));
        msg.AddRange(Encoding.ASCII.GetBytes(request.Method));
        msg.AddRange(Encoding.UTF8.GetBytes(request.Path.Value ?? ""));
        if (request.QueryString.HasValue && request.QueryString.Value!.Length > 1)
        {
            msg.AddRange(Encoding.ASCII.GetBytes(request.QueryString.Value));
        }

        if (body.Length > 0)
        {
            msg.AddRange(SogsClient.Blake2b(body));
        }

        if (!Ed25519.Verify(s, 0, key, 1, msg.ToArray(), 0, msg.Count))
        {
            return (null, 401, "Invalid authentication: X-SOGS-Signature verification failed");
        }

        return (key[0] == 0x15 ? user : "00" + user[2..], 0, null);
    }

    // SOGS runs on the real clock; the tests' signatures use it too unless they test the window.
    private static long RealNow() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();

    private static byte[]? Decode(string text, int size)
    {
        try
        {
            return text.Length == size * 2 ? Convert.FromHexString(text) : Convert.FromBase64String(text) is { } b && b.Length == size ? b : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
