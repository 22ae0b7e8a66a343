namespace Gateway.Benchmarks.Corpus;

/// <summary>The everyday words clean chat messages are made of, and the syllables made-up filter terms are made of.</summary>
internal static class Vocabulary
{
    public static readonly string[] Words =
    [
        "a", "about", "after", "again", "all", "also", "always", "am", "an", "and", "any", "anyone", "are", "around", "as",
        "ask", "at", "away", "back", "bad", "be", "because", "been", "before", "being", "best", "better", "big", "bit",
        "book", "both", "bring", "build", "busy", "but", "by", "call", "came", "can", "car", "change", "check", "city",
        "close", "code", "coffee", "come", "could", "day", "days", "did", "different", "dinner", "do", "does", "done",
        "down", "each", "early", "easy", "else", "end", "enough", "even", "evening", "ever", "every", "everyone",
        "family", "feel", "few", "file", "find", "fine", "first", "fix", "for", "friend", "friends", "from", "game",
        "get", "give", "go", "going", "good", "got", "great", "group", "had", "happy", "has", "have", "he", "hear",
        "hello", "help", "her", "here", "hey", "him", "his", "home", "hope", "hot", "house", "how", "idea", "if", "in",
        "into", "is", "it", "its", "just", "keep", "kind", "know", "last", "late", "later", "learn", "leave", "let",
        "like", "little", "long", "look", "lot", "love", "lunch", "made", "make", "many", "maybe", "me", "meet",
        "meeting", "might", "more", "morning", "most", "much", "music", "must", "my", "name", "need", "never", "new",
        "next", "nice", "night", "no", "not", "nothing", "now", "of", "off", "office", "ok", "old", "on", "once", "one",
        "only", "open", "or", "other", "our", "out", "over", "own", "people", "place", "plan", "play", "please",
        "point", "pretty", "project", "put", "question", "quite", "rain", "read", "ready", "really", "release",
        "remember", "right", "room", "run", "said", "same", "saw", "say", "school", "see", "seems", "send", "she",
        "should", "show", "since", "small", "so", "some", "something", "soon", "sorry", "start", "still", "stop",
        "sure", "take", "talk", "team", "tell", "than", "thank", "thanks", "that", "the", "their", "them", "then",
        "there", "these", "they", "thing", "things", "think", "this", "those", "though", "thought", "through", "time",
        "to", "today", "together", "told", "tomorrow", "too", "tried", "try", "two", "under", "until", "up", "us",
        "use", "very", "wait", "want", "was", "watch", "water", "way", "we", "weather", "week", "weekend", "well",
        "went", "were", "what", "when", "where", "which", "while", "who", "why", "will", "with", "work", "working",
        "world", "would", "write", "yeah", "year", "yes", "yet", "you", "your",
    ];

    /// <summary>Names for mentions.</summary>
    public static readonly string[] Names = ["alex", "sam", "jordan", "maria", "li", "noor", "tom", "ana", "kai", "eva"];

    /// <summary>What real chat also carries: accents, emoji (surrogate pairs), an emoji with a skin tone.</summary>
    public static readonly string[] Extras = ["café", "naïve", "déjà vu", "👍", "😂", "🎉", "🙂", "👍🏽", "résumé"];

    public static readonly string[] Onsets =
    [
        "b", "bl", "br", "c", "ch", "cl", "cr", "d", "dr", "f", "fl", "fr", "g", "gl", "gr", "h", "j", "k", "kl", "kr", "l",
        "m", "n", "p", "pl", "pr", "qu", "r", "s", "sh", "sk", "sl", "sm", "sn", "sp", "st", "str", "t", "th", "tr", "v",
        "w", "wh", "z", "zh",
    ];

    public static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ou", "y", "au", "oi"];

    public static readonly string[] Codas =
    [
        "", "", "", "b", "ck", "d", "ff", "g", "k", "l", "ll", "m", "n", "nk", "nt", "p", "r", "rk", "rt", "s", "sh", "st",
        "t", "x", "z", "zz", "mp", "ng",
    ];
}
