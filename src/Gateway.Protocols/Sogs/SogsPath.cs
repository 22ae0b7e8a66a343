using System.Text.RegularExpressions;

namespace Gateway.Protocols.Sogs;

/// <summary>The SOGS requests the gateway inspects; everything else passes untouched.</summary>
internal enum SogsRequestKind
{
    Other = 0,

    /// <summary><c>POST /room/TOKEN/message</c></summary>
    Post,

    /// <summary><c>PUT /room/TOKEN/message/ID</c></summary>
    Edit,

    /// <summary><c>POST /batch</c></summary>
    Batch,

    /// <summary><c>POST /sequence</c></summary>
    Sequence,

    /// <summary><c>POST /inbox/15…</c> (a message request: an encrypted blob)</summary>
    Inbox,

    /// <summary><c>POST /room/TOKEN/file</c></summary>
    Upload,

    /// <summary>
    /// The pre-2022 API's writes (<c>POST /legacy/messages</c>, <c>/legacy/files</c>, <c>/legacy/rooms/TOKEN/image</c>):
    /// they post through the same <c>add_post</c> with a server-issued token instead of a signature.
    /// </summary>
    LegacyWrite,
}

/// <summary>A request line as SOGS's Flask routes read it (session-pysogs <c>sogs/routes/converters.py</c> for the shapes).</summary>
internal readonly partial record struct SogsPath(SogsRequestKind Kind, string? Room = null, string? Target = null)
{
    public static SogsPath Parse(string method, string pathAndQuery)
    {
        var (path, _) = SogsAuth.SplitTarget(pathAndQuery);
        var post = string.Equals(method, "POST", StringComparison.Ordinal);
        if (post && path == "/batch")
        {
            return new(SogsRequestKind.Batch);
        }

        if (post && path == "/sequence")
        {
            return new(SogsRequestKind.Sequence);
        }

        if (post && (path is "/legacy/messages" or "/legacy/files" || (path.StartsWith("/legacy/rooms/", StringComparison.Ordinal) && path.EndsWith("/image", StringComparison.Ordinal))))
        {
            return new(SogsRequestKind.LegacyWrite);
        }

        var m = Shapes().Match(path);
        if (!m.Success)
        {
            return default;
        }

        if (m.Groups["inbox"].Success)
        {
            return post ? new(SogsRequestKind.Inbox, Target: m.Groups["inbox"].Value) : default;
        }

        var room = m.Groups["room"].Value;
        return m.Groups["rest"].Value switch
        {
            "message" when post => new(SogsRequestKind.Post, room),
            "file" when post => new(SogsRequestKind.Upload, room),
            var rest when rest.StartsWith("message/", StringComparison.Ordinal) && string.Equals(method, "PUT", StringComparison.Ordinal)
                => new(SogsRequestKind.Edit, room, rest[8..]),
            _ => default,
        };
    }

    // Room tokens: Flask's [\w-]{1,64}; message ids: <int>; inbox: a blinded id.
    [GeneratedRegex(@"^/(?:room/(?<room>[\w-]{1,64})/(?<rest>message|file|message/[0-9]+)|inbox/(?<inbox>15[0-9a-fA-F]{64}))/?$", RegexOptions.CultureInvariant)]
    private static partial Regex Shapes();
}
