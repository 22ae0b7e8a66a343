namespace Gateway.Policy.Text;

/// <summary>
/// The normalisation steps that can stand between what was written and a term (issue 18: every hit says which ones
/// produced it, so an operator sees why a message matched). Flags, in the order they are listed.
/// </summary>
[Flags]
public enum EvasionSteps
{
    None = 0,

    /// <summary>A letter from another script or a look-alike form ("рayраl", "ƒuck", fullwidth, mathematical).</summary>
    Confusable = 1 << 0,

    /// <summary>Accents or combining marks removed.</summary>
    Accent = 1 << 1,

    /// <summary>Characters that render as nothing removed (zero-width, controls).</summary>
    Invisible = 1 << 2,

    /// <summary>Digits or symbols read as letters ("sh1t", "$hit", "sh|t").</summary>
    Leet = 1 << 3,

    /// <summary>Letters split by spaces, dots, dashes or underscores joined ("f.u.c.k").</summary>
    Spaced = 1 << 4,

    /// <summary>A stretched letter collapsed ("fuuuuck").</summary>
    Stretched = 1 << 5,

    /// <summary>A mask character stood for a letter ("f*ck").</summary>
    Masked = 1 << 6,

    /// <summary>An inflected form of the term (<c>forms = "english"</c>).</summary>
    Form = 1 << 7,
}

/// <summary>Names of <see cref="EvasionSteps"/> as shown by <c>gateway check</c> and the console.</summary>
public static class EvasionStepNames
{
    private static readonly (EvasionSteps Step, string Name)[] Names =
    [
        (EvasionSteps.Confusable, "confusable"), (EvasionSteps.Accent, "accent"), (EvasionSteps.Invisible, "invisible"),
        (EvasionSteps.Leet, "leet"), (EvasionSteps.Spaced, "spaced"), (EvasionSteps.Stretched, "stretched"),
        (EvasionSteps.Masked, "masked"), (EvasionSteps.Form, "form"),
    ];

    /// <summary>Every combination of the eight flags, built once: a hit reads its list without a lock or a lookup
    /// (a text of 2,000 hits took the lock 2,000 times).</summary>
    private static readonly IReadOnlyList<string>[] All = BuildAll();

    private static IReadOnlyList<string>[] BuildAll()
    {
        var all = new IReadOnlyList<string>[1 << Names.Length];
        for (var k = 0; k < all.Length; k++)
        {
            all[k] = Names.Where(n => (k & (int)n.Step) != 0).Select(n => n.Name).ToArray();
        }

        return all;
    }

    /// <summary>The names of the set flags, in a fixed order; the same list instance for the same flags.</summary>
    public static IReadOnlyList<string> Of(EvasionSteps steps) => All[(int)steps & (All.Length - 1)];
}
