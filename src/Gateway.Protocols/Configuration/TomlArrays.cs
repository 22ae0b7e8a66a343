using Tomlyn.Syntax;

namespace Gateway.Protocols.Configuration;

/// <summary>
/// TOML lets an array of tables continue after other tables (<c>[[filters]] … [[backends]] … [[filters]]</c>), but
/// Tomlyn 2.10.2 then keeps only the entries after the last interruption and silently drops the earlier ones — a
/// filter or backend that vanishes without a word. Until the reader keeps them all, such a file is refused with the
/// line to move (gateway.toml and the TOML files modules import).
/// </summary>
public static class TomlArrays
{
    /// <summary>Each header that continues an interrupted array of tables: 1-based line and column, name, message.</summary>
    public static IEnumerable<(int Line, int Column, string Name, string Message)> Reopened(DocumentSyntax doc)
    {
        // For each array of tables: has a header that is neither it nor inside it come since its last entry?
        var interrupted = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var table in doc.Tables)
        {
            var name = string.Concat((table.Name?.ToString() ?? "").Where(c => !char.IsWhiteSpace(c)));
            foreach (var key in interrupted.Keys.ToList())
            {
                if (key != name && !name.StartsWith(key + ".", StringComparison.Ordinal))
                {
                    interrupted[key] = true;
                }
            }

            if (table is not TableArraySyntax)
            {
                continue;
            }

            if (interrupted.TryGetValue(name, out var wasInterrupted) && wasInterrupted)
            {
                yield return (table.Span.Start.Line + 1, table.Span.Start.Column + 1, name,
                    $"[[{name}]] continues after other tables; keep all [[{name}]] entries together (the TOML reader here would drop the earlier ones)");
            }

            interrupted[name] = false;
            // A new entry starts its own nested arrays afresh ([[backends]] → its own [[backends.routes]]).
            foreach (var child in interrupted.Keys.Where(k => k.StartsWith(name + ".", StringComparison.Ordinal)).ToList())
            {
                interrupted.Remove(child);
            }
        }
    }

    /// <summary>The same check on raw text (syntax errors are left to the deserializer).</summary>
    public static IEnumerable<(int Line, int Column, string Name, string Message)> Reopened(string text, string fileName) =>
        Reopened(Tomlyn.Parsing.SyntaxParser.Parse(text, fileName, validate: false));
}
