using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Protocols.Configuration;

namespace Gateway.Protocols.Matrix;

/// <summary>How the requests of one application service (a bridge) are treated.</summary>
public enum AppserviceTreatment
{
    /// <summary>Inspected, each request attributed to the user it acts as (<c>?user_id=</c>), as for that user's own client.</summary>
    PerUser = 0,

    /// <summary>Inspected, every request attributed to the appservice's own user (its namespace counts as one sender).</summary>
    AsOne,

    /// <summary>Not inspected: the whole namespace is trusted (the bridge filters on its side, or the bridged network does).</summary>
    Exempt,
}

/// <summary>One <c>[[matrix.appservices]]</c> entry, compiled: the SHA-256 of its as_token and its user namespace.</summary>
public sealed class Appservice
{
    private readonly byte[] _tokenHash;
    private readonly Regex? _users;

    public Appservice(string name, byte[] tokenHash, string? senderLocalpart, IReadOnlyList<string> userRegexes, AppserviceTreatment treatment)
    {
        Name = name;
        _tokenHash = tokenHash;
        SenderLocalpart = senderLocalpart;
        UserRegexes = userRegexes;
        Treatment = treatment;
        // The spec's namespace regexes match the whole user id (Synapse uses re.match on the full id, anchored by
        // convention with ".*" and the server name); one alternation, linear-time.
        _users = userRegexes.Count == 0 ? null
            : new Regex(string.Join('|', userRegexes.Select(r => "(?:" + r + ")")), RegexOptions.NonBacktracking | RegexOptions.CultureInvariant,
                TimeSpan.FromSeconds(1));
    }

    public string Name { get; }

    public string? SenderLocalpart { get; }

    public IReadOnlyList<string> UserRegexes { get; }

    public AppserviceTreatment Treatment { get; }

    internal bool HasToken(ReadOnlySpan<byte> tokenHash) => CryptographicOperations.FixedTimeEquals(_tokenHash, tokenHash);

    /// <summary>Whether <paramref name="userId"/> is in the namespace: a namespace regex, or the appservice's own user.</summary>
    public bool Covers(string userId) =>
        (_users is not null && _users.IsMatch(userId))
        || (SenderLocalpart is not null && userId.StartsWith("@" + SenderLocalpart + ":", StringComparison.Ordinal));
}

/// <summary>The configured application services, found by the SHA-256 of the request's token (the token itself is never kept).</summary>
public sealed class MatrixAppservices
{
    public MatrixAppservices(IReadOnlyList<Appservice> services) => Services = services;

    public static MatrixAppservices None { get; } = new(Array.Empty<Appservice>());

    public IReadOnlyList<Appservice> Services { get; }

    public Appservice? ForToken(string accessToken)
    {
        if (Services.Count == 0)
        {
            return null;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(accessToken), hash);
        foreach (var s in Services)
        {
            if (s.HasToken(hash))
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads <c>[[matrix.appservices]]</c>: <c>name</c>; either <c>registration</c> (the appservice's registration YAML,
    /// as given to the homeserver: <c>as_token</c>, <c>sender_localpart</c>, <c>namespaces.users[].regex</c>) or
    /// <c>as_token_sha256</c> (hex) with <c>users</c> (regexes); <c>treatment</c> = <c>per_user</c> | <c>as_one</c> | <c>exempt</c>.
    /// </summary>
    internal static MatrixAppservices Read(TomlTableReader parent, IConfigFileReader files)
    {
        var list = new List<Appservice>();
        foreach (var t in parent.TableArray("appservices"))
        {
            var name = t.String("name", required: true) ?? "";
            var treatment = t.Enum("treatment", AppserviceTreatment.PerUser,
                ("per_user", AppserviceTreatment.PerUser), ("as_one", AppserviceTreatment.AsOne), ("exempt", AppserviceTreatment.Exempt));
            var users = new List<string>(t.StringList("users"));
            var registration = t.String("registration");
            var hashHex = t.String("as_token_sha256");
            string? localpart = t.String("sender_localpart");
            byte[]? hash = null;
            if ((registration is null) == (hashHex is null))
            {
                t.Error(registration is null ? "registration" : "as_token_sha256", "give exactly one of `registration` (the registration file) or `as_token_sha256`");
            }
            else if (registration is not null && files.ReadText(t, "registration", registration, "appservice registration") is { } yaml)
            {
                var parsed = RegistrationFile.Parse(yaml);
                if (parsed.AsToken is null)
                {
                    t.Error("registration", $"appservice registration \"{registration}\" has no as_token");
                }
                else
                {
                    hash = SHA256.HashData(Encoding.UTF8.GetBytes(parsed.AsToken));
                }

                localpart ??= parsed.SenderLocalpart;
                users.AddRange(parsed.UserRegexes);
            }
            else if (hashHex is not null)
            {
                try
                {
                    hash = Convert.FromHexString(hashHex);
                }
                catch (FormatException)
                {
                    hash = null;
                }

                if (hash is not { Length: 32 })
                {
                    t.Error("as_token_sha256", "must be the 64 hex digits of the as_token's SHA-256 (`printf %s \"$AS_TOKEN\" | sha256sum`)");
                    hash = null;
                }
            }

            foreach (var r in users)
            {
                try
                {
                    _ = new Regex(r, RegexOptions.NonBacktracking);
                }
                catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                {
                    t.Error("users", $"namespace regex \"{r}\" is not valid: {ex.Message}");
                    hash = null;
                }
            }

            t.Finish();
            if (hash is not null)
            {
                list.Add(new Appservice(name, hash, localpart, users, treatment));
            }
        }

        return list.Count == 0 ? None : new MatrixAppservices(list);
    }
}

/// <summary>
/// The few keys of an appservice registration file the gateway needs. Registration files are small YAML documents of
/// one known shape (spec: "Registration"); this reads top-level <c>as_token</c> and <c>sender_localpart</c> and the
/// <c>regex</c> items under <c>namespaces: users:</c>, with plain, single- or double-quoted scalars.
/// </summary>
internal static class RegistrationFile
{
    public static (string? AsToken, string? SenderLocalpart, List<string> UserRegexes) Parse(string yaml)
    {
        string? token = null, localpart = null;
        var regexes = new List<string>();
        var section = "";
        var inNamespaces = false;
        foreach (var raw in yaml.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            var indent = line.Length - trimmed.Length;
            if (indent == 0)
            {
                inNamespaces = trimmed.StartsWith("namespaces:", StringComparison.Ordinal);
                section = "";
                if (Value(trimmed, "as_token") is { } t)
                {
                    token = t;
                }
                else if (Value(trimmed, "sender_localpart") is { } l)
                {
                    localpart = l;
                }

                continue;
            }

            if (!inNamespaces)
            {
                continue;
            }

            var item = trimmed.StartsWith("- ", StringComparison.Ordinal) ? trimmed[2..].TrimStart() : trimmed;
            if (trimmed == item && trimmed.EndsWith(':') && !trimmed.Contains(' '))
            {
                section = trimmed.TrimEnd(':'); // users: / aliases: / rooms:
                continue;
            }

            if (section == "users" && Value(item, "regex") is { } regex)
            {
                regexes.Add(regex);
            }
        }

        return (token, localpart, regexes);
    }

    private static string? Value(string line, string key)
    {
        if (!line.StartsWith(key + ":", StringComparison.Ordinal))
        {
            return null;
        }

        var v = line[(key.Length + 1)..].Trim();
        if (v.Length >= 2 && v[0] == '"' && v[^1] == '"')
        {
            return v[1..^1].Replace("\\\\", "\\", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal);
        }

        if (v.Length >= 2 && v[0] == '\'' && v[^1] == '\'')
        {
            return v[1..^1].Replace("''", "'", StringComparison.Ordinal);
        }

        var comment = v.IndexOf(" #", StringComparison.Ordinal);
        return comment >= 0 ? v[..comment].TrimEnd() : v;
    }
}
