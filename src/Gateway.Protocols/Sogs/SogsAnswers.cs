using System.Text;
using System.Text.Json;

namespace Gateway.Protocols.Sogs;

/// <summary>The answers the gateway gives in SOGS's own shapes (session-pysogs, Flask's defaults where SOGS uses them).</summary>
internal static class SogsAnswers
{
    public const string Html = "text/html; charset=utf-8";
    public const string Text = "text/plain; charset=utf-8";
    public const string Json = "application/json";

    /// <summary>auth.py <c>abort_with_reason</c>: the reason as a text/plain body.</summary>
    public static SogsDecision Auth(int status, string reason) => SogsDecision.Respond(status, Text, Encoding.UTF8.GetBytes(reason));

    /// <summary><c>require_user</c> on a route that needs a signed request.</summary>
    public static SogsDecision AuthRequired() => Auth(401, "X-SOGS-* request authentication required");

    /// <summary>routes/exc.py <c>abort_post_rejected</c>: <c>str(e)</c>, 429, Flask's default text/html.</summary>
    public static SogsDecision PostRejected(string reason) => SogsDecision.Respond(429, Html, Encoding.UTF8.GetBytes(reason));

    /// <summary>Flask's <c>abort(403)</c> page, as SOGS answers an upload without upload permission.</summary>
    public static SogsDecision Forbidden() => SogsDecision.Respond(403, Html, Encoding.UTF8.GetBytes(
        "<!doctype html>\n<html lang=en>\n<title>403 Forbidden</title>\n<h1>Forbidden</h1>\n<p>You don&#39;t have the permission to access the requested resource. It is either read-protected or not readable by the server.</p>\n"));

    /// <summary>Flask's <c>abort(400)</c> page (a malformed batch).</summary>
    public static SogsDecision BadRequest() => SogsDecision.Respond(400, Html, Encoding.UTF8.GetBytes(
        "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>The browser (or proxy) sent a request that this server could not understand.</p>\n"));

    /// <summary><c>jsonify({})</c>: what SOGS answers an edit, silently filtered or not.</summary>
    public static SogsDecision EmptyObject() => SogsDecision.Respond(200, Json, "{}"u8.ToArray());

    /// <summary>
    /// room.py <c>add_post</c>'s message for a silently filtered post (status 201): id, session_id, posted, seqno,
    /// data and signature (base64, as sent), reactions, <c>filtered: true</c>, and the whisper keys of a whisper.
    /// </summary>
    public static SogsDecision Filtered201(long id, string sessionId, double posted, long seqno, string data, string signature,
        string? whisperTo, bool whisperMods)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("session_id", sessionId);
            w.WriteNumber("posted", posted);
            w.WriteNumber("seqno", seqno);
            w.WriteString("data", data);
            w.WriteString("signature", signature);
            w.WriteStartObject("reactions");
            w.WriteEndObject();
            w.WriteBoolean("filtered", true);
            if (whisperTo is not null || whisperMods)
            {
                w.WriteBoolean("whisper", true);
                w.WriteBoolean("whisper_mods", whisperMods);
                if (whisperTo is not null)
                {
                    w.WriteString("whisper_to", whisperTo);
                }
            }

            w.WriteEndObject();
        }

        return SogsDecision.Respond(201, Json, ms.ToArray());
    }

    /// <summary>
    /// general.py <c>batch</c>: a list of <c>{"code", "headers", "body"}</c>, the body as JSON when the content type is
    /// JSON and base64 otherwise; <see cref="NotRun"/> marks sub-requests the gateway did not run, in the shape
    /// SOGS gives a sub-request that failed (<c>{"code": 500, "content-type": "text/plain", "body": ""}</c>).
    /// </summary>
    public static SogsDecision NotRun { get; } = SogsDecision.Respond(500, "text/plain", Array.Empty<byte>());

    public static SogsDecision Batch(IReadOnlyList<SogsDecision> answers)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartArray();
            foreach (var a in answers)
            {
                w.WriteStartObject();
                if (ReferenceEquals(a, NotRun))
                {
                    w.WriteNumber("code", 500);
                    w.WriteString("content-type", "text/plain");
                    w.WriteString("body", string.Empty);
                }
                else
                {
                    w.WriteNumber("code", a.Status);
                    w.WriteStartObject("headers");
                    w.WriteString("content-type", a.ContentType);
                    w.WriteString("content-length", a.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteEndObject();
                    w.WritePropertyName("body");
                    if (a.ContentType == Json)
                    {
                        w.WriteRawValue(a.Body.Span, skipInputValidation: true);
                    }
                    else
                    {
                        w.WriteBase64StringValue(a.Body.Span);
                    }
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        return SogsDecision.Respond(200, Json, ms.ToArray());
    }
}
