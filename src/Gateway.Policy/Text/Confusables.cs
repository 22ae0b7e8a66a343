namespace Gateway.Policy.Text;

/// <summary>
/// Letters from other scripts that render like Latin letters, the way spammers use them ("рayраl" with Cyrillic
/// р and а). Consulted before lower-casing (Greek capital Η looks like H, its lower case η like n) and after.
/// A curated subset of Unicode's confusables.txt: the look-alikes seen in chat evasion, not every homoglyph.
/// </summary>
internal static class Confusables
{
    private static readonly Dictionary<char, string> Map_ = Build();

    internal static string? Map(char c) => Map_.TryGetValue(c, out var s) ? s : null;

    private static Dictionary<char, string> Build()
    {
        var map = new Dictionary<char, string>();
        void Add(string from, string to)
        {
            if (from.Length != to.Length)
            {
                throw new InvalidOperationException($"confusable table row '{from}' is misaligned");
            }

            for (var i = 0; i < from.Length; i++)
            {
                map[from[i]] = to[i].ToString();
            }
        }

        // Cyrillic capitals (before lower-casing) and small letters.
        Add("АВЕЅІЈКМНОРСТУХԚԜ", "abesijkmhopctyxqw");
        Add("аеѕіјорсухԁһԛԝӏѵьвкмнтп", "aesijopcyxdhqwlvbbkmhtn");
        Add("ёїў", "eiy");
        // Greek capitals (before lower-casing) and small letters.
        Add("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "abezhikmnoptyx");
        Add("αβγεηικνορστυχωμς", "abyenikvopotuxwuc");
        // Latin letters with strokes or special forms that NFKD does not decompose.
        Add("łøđħŧıȷɑɡɩɪʏƅƄ", "lodhtijagiiybb");
        // Letters outside the usual tables (issue 18): hooked and stroked Latin, small capitals, turned letters,
        // Armenian look-alikes. None of them decomposes under NFKD.
        Add("ƀɓƈȼɗɇƒɠǥɦɨʝɉƙɬɱɲɵƥʠɽʂƭʉʋⱳƴɏȥƶꞵ", "bbccdefgghijjklmnopqrstuvwyyzzb");
        Add("ᴀʙᴄᴅᴇꜰɢʜᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡᴢ", "abcdefghjklmnoprstuvwz");
        Add("ɐɔǝəɛɟƃɥᴉɾʞɯɹʇʌʍʎ", "aceeefghijkmrtvwy");
        Add("օսհցոռ", "ouhgnn");
        // Multi-letter folds.
        map['ß'] = "ss";
        map['æ'] = "ae";
        map['Æ'] = "ae";
        map['œ'] = "oe";
        map['Œ'] = "oe";
        return map;
    }
}
