using Gateway.Policy.Rules;

namespace Gateway.Protocols.Sogs;

/// <summary>
/// SOGS's own filters (<c>sogs.ini</c> <c>[messages]</c> and <c>[room:TOKEN]</c>) as gateway filters scoped to the
/// backend: one per alphabet and one for the profanity word list, globally and for each room that overrides them,
/// with SOGS's semantics — alphabets before profanity (room.py <c>should_filter</c> checks them first), the alphabets
/// on the message text, profanity on the text and the poster's profile name, <c>*_silent</c> = drop (answered 201)
/// else reject (429 <c>filtration rejected message (TYPE)</c>), moderators exempt unless <c>filter_mods</c>.
/// </summary>
internal static class SogsFilters
{
    public const string RejectedText = "filtration rejected message (profanity)";

    public static IReadOnlyList<FilterDefinition> From(SogsIniSettings ini, string backend)
    {
        var filters = new List<FilterDefinition>();
        var overridden = ini.Rooms.Keys.ToArray();
        Add(filters, ini, backend, null, ini.ProfanityFilter, ini.ProfanitySilent, ini.AlphabetFilters, overridden);
        foreach (var (token, room) in ini.Rooms)
        {
            Add(filters, ini, backend, token, room.ProfanityFilter ?? ini.ProfanityFilter, room.ProfanitySilent ?? ini.ProfanitySilent,
                room.AlphabetFilters ?? ini.AlphabetFilters, Array.Empty<string>());
        }

        return filters;
    }

    private static void Add(List<FilterDefinition> filters, SogsIniSettings ini, string backend, string? room, bool profanity, bool profanitySilent,
        IReadOnlySet<string> alphabets, IReadOnlyList<string> excludeRooms)
    {
        var scope = room is null ? "" : "@" + room;
        var rooms = room is null ? Array.Empty<string>() : new[] { room };
        // persian, arabic, cyrillic: SOGS's order (persian is a subset of arabic and names the match first).
        var priority = 1000;
        foreach (var lang in new[] { "persian", "arabic", "cyrillic" })
        {
            if (!alphabets.Contains(lang) || SogsIni.AlphabetPattern(lang) is not { } pattern)
            {
                continue;
            }

            filters.Add(Base(backend, $"sogs-ini-alphabet-{lang}{scope}", ini, rooms, excludeRooms) with
            {
                Priority = priority--,
                Regexes = new[] { pattern },
                Fields = FieldSet.Body,
                Normalize = false,
                CaseSensitive = true,
                Action = ini.AlphabetSilent ? FilterAction.Drop : FilterAction.Reject,
                Notice = ini.AlphabetSilent ? null : "filtration rejected message (alphabet)",
            });
        }

        if (profanity && ini.ProfanityWords.Count > 0)
        {
            filters.Add(Base(backend, $"sogs-ini-profanity{scope}", ini, rooms, excludeRooms) with
            {
                Priority = 900,
                Keywords = ini.ProfanityWords,
                Fields = FieldSet.Body | FieldSet.DisplayName,
                Action = profanitySilent ? FilterAction.Drop : FilterAction.Reject,
                Notice = profanitySilent ? null : RejectedText,
            });
        }
    }

    private static FilterDefinition Base(string backend, string name, SogsIniSettings ini, IReadOnlyList<string> rooms, IReadOnlyList<string> excludeRooms) => new()
    {
        Name = name,
        Rooms = rooms,
        ExcludeRooms = excludeRooms,
        ExemptModerators = !ini.FilterMods,
        Scope = FilterScope.Both,
        Backends = new[] { backend },
    };
}
