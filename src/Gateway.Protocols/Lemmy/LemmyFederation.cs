using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Policy.Acl;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Lemmy;

/// <summary>
/// <c>[backends.lemmy.federation]</c>: which instances may deliver to the ActivityPub inboxes, with Mastodon's
/// severities. <c>allow</c> and <c>deny</c> are server globs with the Matrix server ACL's semantics (an empty
/// <c>allow</c> means every instance); <c>deny</c> is <c>suspend</c>: every activity refused. <c>silence</c> drops
/// an instance's activities (answered as accepted) except the ones that keep follow relationships working.
/// </summary>
public sealed record LemmyFederationSettings(ServerAclConfig Acl, IReadOnlyList<string> Silence)
{
    public static LemmyFederationSettings None { get; } = new(new ServerAclConfig(Array.Empty<string>(), Array.Empty<string>(), true), Array.Empty<string>());

    internal static LemmyFederationSettings Read(TomlTableReader table)
    {
        var acl = ServerAclConfig.Read(table);
        var silence = table.StringList("silence");
        foreach (var g in silence)
        {
            if (!ServerNameGlob.TryValidate(g, out var error))
            {
                table.Error("silence", error!);
            }
        }

        table.Finish();
        return new LemmyFederationSettings(acl, silence);
    }

    /// <summary>The suspend ACL: allowed unless denied, and (when <c>allow</c> is set) only those listed.</summary>
    internal ServerAcl CompileSuspend() =>
        ServerAcl.Create(Acl.Allow.Count == 0 ? new[] { "*" } : Acl.Allow, Acl.Deny, Acl.AllowIpLiterals);

    /// <summary>The silence list as an ACL that allows everyone but the silenced.</summary>
    internal ServerAcl? CompileSilence() => Silence.Count == 0 ? null : ServerAcl.Create(new[] { "*" }, Silence);
}

/// <summary>
/// Step 3 of the data flow for Lemmy's ActivityPub inboxes (<c>POST /inbox</c>, <c>/site_inbox</c>,
/// <c>/c/{name}/inbox</c>, <c>/u/{name}/inbox</c>): the sending instance is read from the signature's <c>keyId</c>
/// and from the activity's <c>actor</c>, and the request is refused when either is suspended — by the backend's
/// <c>deny</c>/<c>allow</c> or by the gateway-wide <c>[server_acl]</c> with its runtime entries — with the answer
/// Lemmy gives a blocked domain (400 <c>{"error":"domain_blocked","message":&lt;domain&gt;}</c>; activitypub-federation
/// senders treat a 4xx as final and do not retry). A keyId on another host than the actor is refused too: Lemmy
/// verifies the signature with the actor's own key, so such a request can only pass if one instance signs for
/// another, which is how a suspended instance would come in through a friend. A silenced instance's activities are
/// answered as Lemmy answers an accepted one (200, empty body) and never delivered, except <c>Follow</c>,
/// <c>Undo</c>, <c>Accept</c> and <c>Reject</c> (follows keep working, as in Mastodon). Bodies are signed: the gate
/// reads them, never changes them. The signature itself is Lemmy's to verify.
/// </summary>
internal sealed class LemmyInboxGate : IRequestGate
{
    private static readonly byte[] Accepted = Array.Empty<byte>();

    private readonly ServerAcl _suspend;
    private readonly ServerAcl? _silence;
    private readonly long _maxBodyBytes;

    public LemmyInboxGate(LemmyFederationSettings settings, long maxBodyBytes)
    {
        _suspend = settings.CompileSuspend();
        _silence = settings.CompileSilence();
        _maxBodyBytes = maxBodyBytes;
    }

    /// <summary>Lemmy's inbox routes: 0.19's four and 1.0's shared one.</summary>
    internal static bool IsInbox(string method, string path)
    {
        if (!HttpMethods.IsPost(method))
        {
            return false;
        }

        var p = path.AsSpan().TrimEnd('/');
        if (p is "/inbox" or "/site_inbox")
        {
            return true;
        }

        // /c/{name}/inbox and /u/{name}/inbox
        return p.Length > 9 && (p.StartsWith("/c/") || p.StartsWith("/u/")) && p.EndsWith("/inbox") && p[3..^6].IndexOf('/') < 0;
    }

    public async ValueTask<GateRefusal?> CheckAsync(HttpContext context, IModuleHost host)
    {
        var request = context.Request;
        if (!IsInbox(request.Method, request.Path.Value ?? ""))
        {
            return null;
        }

        var keyHost = KeyIdHost(request.Headers["Signature"].ToString());
        var bytes = await GateBodies.ReadBoundedAsync(request, _maxBodyBytes, context.RequestAborted);
        if (bytes is null)
        {
            return new GateRefusal(StatusCodes.Status413PayloadTooLarge, Error("unknown", "The activity is too large."));
        }

        GateBodies.Restore(request, bytes); // the same bytes go on: Content-Length and the Digest header stay exact

        var (type, actorHost) = Peek(bytes);
        foreach (var instance in new[] { keyHost, actorHost })
        {
            if (instance is not null && (!host.GatewayAcl.IsAllowed(instance) || !_suspend.IsAllowed(instance)))
            {
                host.CountRefusal(LemmyAdapter.ProtocolName, "instance_suspended");
                return new GateRefusal(StatusCodes.Status400BadRequest, Error("domain_blocked", instance));
            }
        }

        if (keyHost is not null && actorHost is not null && !string.Equals(keyHost, actorHost, StringComparison.OrdinalIgnoreCase))
        {
            host.CountRefusal(LemmyAdapter.ProtocolName, "signer_not_actor");
            return new GateRefusal(StatusCodes.Status400BadRequest,
                Error("unknown", $"The signing key ({keyHost}) is not on the instance of the actor ({actorHost})."));
        }

        if (_silence is not null && type is not ("Follow" or "Undo" or "Accept" or "Reject"))
        {
            foreach (var instance in new[] { keyHost, actorHost })
            {
                if (instance is not null && !_silence.IsAllowed(instance))
                {
                    host.CountRefusal(LemmyAdapter.ProtocolName, "instance_silenced");
                    return new GateRefusal(StatusCodes.Status200OK, Accepted, "text/plain");
                }
            }
        }

        return null;
    }

    /// <summary>Lemmy's error body: <c>{"error":&lt;snake_case&gt;,"message":…}</c>.</summary>
    internal static byte[] Error(string error, string message)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("error", error);
            w.WriteString("message", message);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The host of the draft-cavage <c>Signature</c> header's <c>keyId</c> (a key URL: <c>https://host/u/x#main-key</c>).</summary>
    internal static string? KeyIdHost(string signature)
    {
        const string Key = "keyId=\"";
        var at = signature.IndexOf(Key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var start = at + Key.Length;
        var end = signature.IndexOf('"', start);
        return end > start && Uri.TryCreate(signature[start..end], UriKind.Absolute, out var uri) ? Host(uri) : null;
    }

    /// <summary>The activity's type and its actor's host (the actor is a URL, or an object with an <c>id</c>).</summary>
    internal static (string? Type, string? ActorHost) Peek(byte[] json)
    {
        // JsonDocument checks a string's UTF-8 only when it is read (GetString throws InvalidOperationException).
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            return (null, null); // not JSON: Lemmy refuses it itself
        }

        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            return (type, HostOf(LemmyInbox.IdOf(root, "actor")));
        }
        catch (JsonException)
        {
            return (null, null); // not JSON: Lemmy refuses it itself
        }
    }

    internal static string? HostOf(string? url) => url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Host(uri) : null;

    // IdnHost throws UriFormatException for a host IDNA refuses (found by make fuzz, issue 17). Such a host cannot be
    // resolved, so Lemmy cannot fetch its key either; its plain form still goes through the suspend/silence lists.
    private static string Host(Uri uri)
    {
        try
        {
            return uri.IdnHost;
        }
        catch (UriFormatException)
        {
            return uri.Host;
        }
    }
}
