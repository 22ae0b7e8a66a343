using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Gateway.Protocols.Configuration;

/// <summary>One problem in a config file, located by key path and line:column.</summary>
public sealed record ConfigError(string File, int Line, int Column, string KeyPath, string Message)
{
    public override string ToString() => (Line, KeyPath.Length) switch
    {
        // Line 0: about the file as a whole (unreadable, a reload abandoned), not a place in it.
        (0, 0) => $"{File}: {Message}",
        (0, _) => $"{File}: {KeyPath}: {Message}",
        (_, 0) => $"{File}:{Line}:{Column}: {Message}",
        _ => $"{File}:{Line}:{Column}: {KeyPath}: {Message}",
    };
}

/// <summary>Shared state of one config read: the file name, Tomlyn's key positions, and the errors found.</summary>
public sealed class TomlReadContext(string file, TomlMetadataStore metadata)
{
    public string File { get; } = file;

    public List<ConfigError> Errors { get; } = new();

    /// <summary>Legal but probably not what was meant: printed by `validate` and logged at start and reload.</summary>
    public List<ConfigError> Warnings { get; } = new();

    public (int Line, int Column) PositionOf(TomlTable table, string key, (int Line, int Column) fallback)
    {
        if (metadata.TryGetProperties(table, out var props) && props is not null && props.TryGetProperty(key, out var p) && p is not null)
        {
            return (p.Span.Start.Line + 1, p.Span.Start.Column + 1);
        }

        return fallback;
    }

    public void Error((int Line, int Column) at, string path, string message) =>
        Errors.Add(new ConfigError(File, at.Line, at.Column, path, message));
}

/// <summary>
/// Reads one TOML table with type checks; every key read is remembered so <see cref="Finish"/> can name the unknown
/// ones. Missing keys fall back to defaults; wrong types are errors naming the key path and its position.
/// </summary>
public sealed class TomlTableReader
{
    private readonly TomlTable _table;
    private readonly TomlReadContext _ctx;
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

    public TomlTableReader(TomlTable table, string path, TomlReadContext ctx, (int Line, int Column) position)
    {
        _table = table;
        Path = path;
        _ctx = ctx;
        Position = position;
    }

    public string Path { get; }

    public (int Line, int Column) Position { get; }

    public TomlReadContext Context => _ctx;

    public string KeyPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    public (int Line, int Column) At(string key) => _ctx.PositionOf(_table, key, Position);

    public void Error(string key, string message) => _ctx.Error(At(key), KeyPath(key), message);

    public bool Has(string key)
    {
        _seen.Add(key);
        return _table.ContainsKey(key);
    }

    private bool TryGet(string key, out object? value)
    {
        _seen.Add(key);
        return _table.TryGetValue(key, out value);
    }

    public string? String(string key, string? fallback = null, bool required = false)
    {
        if (!TryGet(key, out var v))
        {
            if (required)
            {
                _ctx.Error(Position, KeyPath(key), "is required");
            }

            return fallback;
        }

        if (v is string s)
        {
            return s;
        }

        Error(key, $"expected a string, found {Describe(v)}");
        return fallback;
    }

    public long Integer(string key, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        if (!TryGet(key, out var v))
        {
            return fallback;
        }

        if (v is long l)
        {
            if (l < min || l > max)
            {
                Error(key, $"must be between {min} and {max}, found {l}");
                return fallback;
            }

            return l;
        }

        Error(key, $"expected an integer, found {Describe(v)}");
        return fallback;
    }

    public bool Bool(string key, bool fallback)
    {
        if (!TryGet(key, out var v))
        {
            return fallback;
        }

        if (v is bool b)
        {
            return b;
        }

        Error(key, $"expected true or false, found {Describe(v)}");
        return fallback;
    }

    public IReadOnlyList<string> StringList(string key)
    {
        if (!TryGet(key, out var v))
        {
            return Array.Empty<string>();
        }

        if (v is string single)
        {
            // A bare string used to pass as a one-element list; `keywords = "damn"` then looked valid while the
            // operator may have meant something else entirely (issue 9, defect 12). Arrays are written as arrays.
            Error(key, $"expected an array of strings, found {Describe(v)} (write [\"{single}\"] for one entry)");
            return Array.Empty<string>();
        }

        if (v is TomlArray arr)
        {
            var list = new List<string>(arr.Count);
            for (var i = 0; i < arr.Count; i++)
            {
                if (arr[i] is string s)
                {
                    list.Add(s);
                }
                else
                {
                    _ctx.Error(At(key), $"{KeyPath(key)}[{i}]", $"expected a string, found {Describe(arr[i])}");
                }
            }

            return list;
        }

        Error(key, $"expected an array of strings, found {Describe(v)}");
        return Array.Empty<string>();
    }

    public T Enum<T>(string key, T fallback, params (string Name, T Value)[] values)
    {
        var s = String(key);
        if (s is null)
        {
            return fallback;
        }

        foreach (var (name, value) in values)
        {
            if (string.Equals(name, s, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        var names = new List<string>();
        foreach (var (name, _) in values)
        {
            names.Add($"\"{name}\"");
        }

        Error(key, $"must be one of {string.Join(", ", names)}, found \"{s}\"");
        return fallback;
    }

    public TomlTableReader? Table(string key)
    {
        if (!TryGet(key, out var v))
        {
            return null;
        }

        if (v is TomlTable t)
        {
            return new TomlTableReader(t, KeyPath(key), _ctx, At(key));
        }

        Error(key, $"expected a table, found {Describe(v)}");
        return null;
    }

    public IReadOnlyList<TomlTableReader> TableArray(string key)
    {
        if (!TryGet(key, out var v))
        {
            return Array.Empty<TomlTableReader>();
        }

        var result = new List<TomlTableReader>();
        if (v is TomlTableArray ta)
        {
            for (var i = 0; i < ta.Count; i++)
            {
                var t = ta[i];
                result.Add(new TomlTableReader(t, $"{KeyPath(key)}[{i}]", _ctx, FirstKeyPosition(t) ?? At(key)));
            }

            return result;
        }

        if (v is TomlArray arr)
        {
            for (var i = 0; i < arr.Count; i++)
            {
                if (arr[i] is TomlTable t)
                {
                    result.Add(new TomlTableReader(t, $"{KeyPath(key)}[{i}]", _ctx, At(key)));
                }
                else
                {
                    _ctx.Error(At(key), $"{KeyPath(key)}[{i}]", $"expected a table, found {Describe(arr[i])}");
                }
            }

            return result;
        }

        Error(key, $"expected an array of tables ([[{KeyPath(key)}]]), found {Describe(v)}");
        return result;
    }

    /// <summary>The raw value, for keys with more than one accepted shape.</summary>
    public object? Raw(string key) => TryGet(key, out var v) ? v : null;

    /// <summary>Reports every key of this table that was never read.</summary>
    public void Finish()
    {
        foreach (var kv in _table)
        {
            if (!_seen.Contains(kv.Key))
            {
                Error(kv.Key, "unknown key");
            }
        }
    }

    private (int Line, int Column)? FirstKeyPosition(TomlTable t)
    {
        foreach (var kv in t)
        {
            return _ctx.PositionOf(t, kv.Key, Position);
        }

        return null;
    }

    public static string Describe(object? v) => v switch
    {
        null => "nothing",
        string s => $"the string \"{s}\"",
        long l => $"the integer {l}",
        double d => $"the float {d}",
        bool b => b ? "true" : "false",
        TomlDateTime => "a date-time",
        TomlArray => "an array",
        TomlTableArray => "an array of tables",
        TomlTable => "a table",
        _ => v.GetType().Name,
    };
}
