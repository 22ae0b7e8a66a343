// Over 400 lines because RE2's syntax differs from .NET's in many small places, each mapped or refused here in one
// pass; splitting the pass would split one grammar.
using System.Globalization;
using System.Text;

namespace Gateway.Protocols.BareRtc;

/// <summary>
/// Translates a Go RE2 pattern (BareRTC's <c>KeywordPhrases</c>) into a .NET pattern with the same meaning, or refuses
/// it with a reason. Mapped: <c>(?P&lt;name&gt;…)</c> → <c>(?&lt;name&gt;…)</c>; POSIX classes such as
/// <c>[[:alpha:]]</c> → explicit ASCII ranges (RE2's POSIX classes are ASCII); <c>\d \w \s</c> → their ASCII sets (RE2's
/// Perl classes are ASCII, .NET's are Unicode); <c>$</c> outside multi-line mode → <c>\z</c> (RE2's <c>$</c> is the end
/// of the text, .NET's also matches before a final newline); <c>\pN</c> → <c>\p{N}</c>; <c>\Q…\E</c> → escaped
/// literals; <c>\x{HHHH}</c> → the character; flags <c>i m s</c>. Refused: <c>(?U)</c> (ungreedy), <c>\C</c>,
/// <c>\Z</c> (not RE2), Unicode script classes (<c>\p{Greek}</c>), negated POSIX classes and negated Perl classes inside
/// brackets, and everything RE2 itself rejects (back-references, look-arounds). <c>\b</c> and <c>\B</c> are kept with a
/// warning: RE2 counts only ASCII letters as word characters, .NET all letters.
/// </summary>
internal static class Re2Translator
{
    private const string Word = "0-9A-Za-z_";
    private const string Digit = "0-9";
    private const string Space = "\\t\\n\\f\\r ";

    private static readonly Dictionary<string, string> Posix = new(StringComparer.Ordinal)
    {
        ["alnum"] = "0-9A-Za-z",
        ["alpha"] = "A-Za-z",
        ["ascii"] = "\\x00-\\x7F",
        ["blank"] = "\\t ",
        ["cntrl"] = "\\x00-\\x1F\\x7F",
        ["digit"] = "0-9",
        ["graph"] = "!-~",
        ["lower"] = "a-z",
        ["print"] = " -~",
        ["punct"] = "!-/:-@\\[-`{-~",
        ["space"] = "\\t\\n\\v\\f\\r ",
        ["upper"] = "A-Z",
        ["word"] = "0-9A-Za-z_",
        ["xdigit"] = "0-9A-Fa-f",
    };

    // Unicode general categories: the same names in RE2 and .NET. Scripts (Greek, Han, …) are blocks in .NET: refused.
    private static readonly HashSet<string> Categories = new(StringComparer.Ordinal)
    {
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
        "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co",
    };

    /// <summary>
    /// The .NET pattern, or null with <paramref name="error"/> saying what cannot be mapped. <paramref name="warning"/>
    /// is set (with a result) when the pattern uses <c>\b</c>/<c>\B</c>.
    /// </summary>
    public static string? Translate(string pattern, out string? error, out string? warning)
    {
        var t = new Translation(pattern);
        var result = t.Run();
        error = t.Error;
        warning = result is null ? null : t.Warning;
        return result;
    }

    private sealed class Translation(string p)
    {
        private readonly StringBuilder _out = new(p.Length + 16);
        private readonly Stack<bool> _multiline = new();
        private int _i;
        private bool _m;

        public string? Error { get; private set; }

        public string? Warning { get; private set; }

        public string? Run()
        {
            while (_i < p.Length && Error is null)
            {
                var c = p[_i];
                switch (c)
                {
                    case '\\':
                        Escape(inClass: false);
                        break;
                    case '[':
                        Class();
                        break;
                    case '(':
                        Group();
                        break;
                    case ')':
                        if (_multiline.Count == 0)
                        {
                            return Fail("has an unmatched ')'");
                        }

                        _m = _multiline.Pop();
                        _out.Append(')');
                        _i++;
                        break;
                    case '$':
                        // RE2: end of text unless multi-line; .NET's $ would also match before a final "\n".
                        _out.Append(_m ? "$" : "\\z");
                        _i++;
                        break;
                    default:
                        _out.Append(c);
                        _i++;
                        break;
                }
            }

            if (Error is null && _multiline.Count > 0)
            {
                return Fail("has an unclosed '('");
            }

            return Error is null ? _out.ToString() : null;
        }

        private string? Fail(string why)
        {
            Error ??= $"KeywordPhrase /{p}/ {why}";
            return null;
        }

        private void Group()
        {
            _multiline.Push(_m);
            if (_i + 1 >= p.Length || p[_i + 1] != '?')
            {
                _out.Append('(');
                _i++;
                return;
            }

            // (?P<name>…) and (?<name>…): a named group.
            var rest = p.AsSpan(_i + 2);
            if (rest.StartsWith("P<") || (rest.StartsWith("<") && !rest.StartsWith("<=") && !rest.StartsWith("<!")))
            {
                var nameStart = _i + 2 + (rest[0] == 'P' ? 2 : 1);
                var close = p.IndexOf('>', nameStart);
                if (close < 0)
                {
                    Fail("has an unclosed group name");
                    return;
                }

                var name = p[nameStart..close];
                if (name.Length == 0 || !IsGroupName(name))
                {
                    Fail($"has an invalid group name \"{name}\"");
                    return;
                }

                _out.Append("(?<").Append(name).Append('>');
                _i = close + 1;
                return;
            }

            if (rest.StartsWith("P=") || rest.StartsWith("P>"))
            {
                Fail("uses a back-reference, which RE2 does not support");
                return;
            }

            // Flags: (?flags) or (?flags:…), flags from "imsU" with an optional '-' part.
            var j = _i + 2;
            var negate = false;
            var m = _m;
            var flags = new StringBuilder();
            for (; j < p.Length && p[j] != ')' && p[j] != ':'; j++)
            {
                switch (p[j])
                {
                    case '-' when !negate:
                        negate = true;
                        flags.Append('-');
                        break;
                    case 'i' or 's':
                        flags.Append(p[j]);
                        break;
                    case 'm':
                        m = !negate;
                        flags.Append('m');
                        break;
                    case 'U':
                        Fail("uses the U (ungreedy) flag, which .NET has no equivalent for: write the lazy quantifiers (*?, +?) instead");
                        return;
                    default:
                        Fail(p[j] is '=' or '!' or '<' or '>' ? "uses a look-around or atomic group, which RE2 does not support"
                            : $"uses the group syntax \"(?{p[j]}\", which RE2 does not support");
                        return;
                }
            }

            if (j >= p.Length)
            {
                Fail("has an unclosed flag group");
                return;
            }

            if (p[j] == ')')
            {
                // (?flags): applies to the rest of the enclosing group; this '(' opened nothing.
                _multiline.Pop();
                if (flags.Length > 0 && flags.ToString() != "-")
                {
                    _out.Append("(?").Append(flags).Append(')');
                }

                _m = m;
                _i = j + 1;
                return;
            }

            _out.Append("(?").Append(flags).Append(':');
            _m = m;
            _i = j + 1;
        }

        private static bool IsGroupName(string name)
        {
            if (char.IsAsciiDigit(name[0]))
            {
                return false;
            }

            foreach (var ch in name)
            {
                if (!char.IsAsciiLetterOrDigit(ch) && ch != '_')
                {
                    return false;
                }
            }

            return true;
        }

        private void Class()
        {
            _out.Append('[');
            _i++;
            if (_i < p.Length && p[_i] == '^')
            {
                _out.Append('^');
                _i++;
            }

            var first = true;
            while (_i < p.Length && Error is null)
            {
                var c = p[_i];
                if (c == ']' && !first)
                {
                    _out.Append(']');
                    _i++;
                    return;
                }

                first = false;
                if (c == '[' && _i + 1 < p.Length && p[_i + 1] == ':')
                {
                    var end = p.IndexOf(":]", _i + 2, StringComparison.Ordinal);
                    if (end < 0)
                    {
                        // RE2 reads a lone "[:" inside a class as two literals.
                        _out.Append("\\[");
                        _i++;
                        continue;
                    }

                    var name = p[(_i + 2)..end];
                    if (name.StartsWith('^'))
                    {
                        Fail($"uses the negated POSIX class [[:{name}:]], which has no exact .NET equivalent inside brackets");
                        return;
                    }

                    if (!Posix.TryGetValue(name, out var set))
                    {
                        Fail($"uses the unknown POSIX class [:{name}:]");
                        return;
                    }

                    _out.Append(set);
                    _i = end + 2;
                    continue;
                }

                switch (c)
                {
                    case '\\':
                        Escape(inClass: true);
                        break;
                    case '[':
                        // Literal in RE2; in .NET "-[" would start a class subtraction.
                        _out.Append("\\[");
                        _i++;
                        break;
                    default:
                        _out.Append(c);
                        _i++;
                        break;
                }
            }

            Fail("has an unclosed '['");
        }

        private void Escape(bool inClass)
        {
            if (_i + 1 >= p.Length)
            {
                Fail("ends with a lone backslash");
                return;
            }

            var c = p[_i + 1];
            _i += 2;
            switch (c)
            {
                case 'd':
                    _out.Append(inClass ? Digit : "[" + Digit + "]");
                    return;
                case 'w':
                    _out.Append(inClass ? Word : "[" + Word + "]");
                    return;
                case 's':
                    _out.Append(inClass ? Space : "[" + Space + "]");
                    return;
                case 'D' or 'W' or 'S':
                    if (inClass)
                    {
                        Fail($"uses \\{c} inside brackets, which has no exact .NET equivalent (RE2's classes are ASCII)");
                        return;
                    }

                    _out.Append("[^").Append(c switch { 'D' => Digit, 'W' => Word, _ => Space }).Append(']');
                    return;
                case 'b' or 'B':
                    if (inClass)
                    {
                        Fail($"uses \\{c} inside brackets, which RE2 does not support");
                        return;
                    }

                    Warning ??= $"KeywordPhrase /{p}/ uses \\{c}: RE2 counts only ASCII letters as word characters, .NET all letters, so next to a non-ASCII letter it matches less than upstream";
                    _out.Append('\\').Append(c);
                    return;
                case 'A' or 'z':
                    if (inClass)
                    {
                        Fail($"uses \\{c} inside brackets, which RE2 does not support");
                        return;
                    }

                    _out.Append('\\').Append(c);
                    return;
                case 'Z':
                    Fail("uses \\Z, which RE2 does not have (use \\z or $)");
                    return;
                case 'C':
                    Fail("uses \\C (any byte), which has no .NET equivalent");
                    return;
                case 'Q':
                    if (inClass)
                    {
                        Fail("uses \\Q…\\E inside brackets, which is not translated");
                        return;
                    }

                    var end = p.IndexOf("\\E", _i, StringComparison.Ordinal);
                    var literal = end < 0 ? p[_i..] : p[_i..end];
                    _out.Append(System.Text.RegularExpressions.Regex.Escape(literal));
                    _i = end < 0 ? p.Length : end + 2;
                    return;
                case 'E':
                    // RE2 ignores a \E without \Q.
                    return;
                case 'p' or 'P':
                    UnicodeClass(c == 'P');
                    return;
                case 'x':
                    Hex(inClass);
                    return;
                case 'a' or 'f' or 't' or 'n' or 'r' or 'v':
                    _out.Append('\\').Append(c);
                    return;
                default:
                    if (c < 0x80 && !char.IsAsciiLetterOrDigit(c))
                    {
                        // An escaped punctuation character: the same literal in both.
                        _out.Append('\\').Append(c);
                        return;
                    }

                    Fail(char.IsAsciiDigit(c) ? $"uses \\{c} (an octal escape or back-reference), which is not translated"
                        : $"uses the escape \\{c}, which RE2 does not support");
                    return;
            }
        }

        private void UnicodeClass(bool negated)
        {
            string name;
            if (_i < p.Length && p[_i] == '{')
            {
                var close = p.IndexOf('}', _i);
                if (close < 0)
                {
                    Fail("has an unclosed \\p{");
                    return;
                }

                name = p[(_i + 1)..close];
                _i = close + 1;
                if (name.StartsWith('^'))
                {
                    negated = !negated;
                    name = name[1..];
                }
            }
            else if (_i < p.Length)
            {
                name = p[_i].ToString();
                _i++;
            }
            else
            {
                Fail("ends inside \\p");
                return;
            }

            if (!Categories.Contains(name))
            {
                Fail($"uses the Unicode class \\p{{{name}}}, which is not a general category (.NET names scripts differently): not translated");
                return;
            }

            _out.Append(negated ? "\\P{" : "\\p{").Append(name).Append('}');
        }

        private void Hex(bool inClass)
        {
            int value;
            if (_i < p.Length && p[_i] == '{')
            {
                var close = p.IndexOf('}', _i);
                if (close < 0 || !int.TryParse(p.AsSpan(_i + 1, close - _i - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
                    || value > 0x10FFFF)
                {
                    Fail("has an invalid \\x{…} escape");
                    return;
                }

                _i = close + 1;
            }
            else if (_i + 2 <= p.Length && int.TryParse(p.AsSpan(_i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value))
            {
                _i += 2;
            }
            else
            {
                Fail("has an invalid \\x escape");
                return;
            }

            if (value > 0xFFFF)
            {
                if (inClass)
                {
                    Fail("puts a character outside the Basic Multilingual Plane inside brackets, which .NET cannot match as one character");
                    return;
                }

                var s = char.ConvertFromUtf32(value);
                _out.Append("(?:\\u").Append(((int)s[0]).ToString("X4", CultureInfo.InvariantCulture))
                    .Append("\\u").Append(((int)s[1]).ToString("X4", CultureInfo.InvariantCulture)).Append(')');
                return;
            }

            if (value is >= 0xD800 and <= 0xDFFF)
            {
                Fail("escapes a surrogate code point, which RE2 does not match");
                return;
            }

            _out.Append("\\u").Append(value.ToString("X4", CultureInfo.InvariantCulture));
        }
    }
}
