using System.Runtime.CompilerServices;

namespace Gateway.Policy.Text;

/// <summary>
/// A reusable buffer holding normalised text and, for every normalised character, the range of the original
/// input (UTF-16 indices) it came from. Matching runs on <see cref="Span"/>; censoring maps matches back
/// through <see cref="OriginalStart"/> / <see cref="OriginalEnd"/> so the original characters are replaced.
/// </summary>
public sealed class NormalizedText
{
    private char[] _chars;
    private int[] _starts;
    private int[] _ends;

    public NormalizedText(int capacity = 256)
    {
        _chars = new char[capacity];
        _starts = new int[capacity];
        _ends = new int[capacity];
    }

    public int Length { get; internal set; }

    public ReadOnlySpan<char> Span => _chars.AsSpan(0, Length);

    public int OriginalStart(int normalizedIndex) => _starts[normalizedIndex];

    public int OriginalEnd(int normalizedIndex) => _ends[normalizedIndex];

    public override string ToString() => new(Span);

    private int[] _soft = new int[4];

    /// <summary>How many soft word boundaries the last normalisation recorded.</summary>
    internal int SoftBoundaryCount { get; set; }

    /// <summary>
    /// A word boundary that the joined text hides: between a one-letter word and the spaced-out letters joined with it
    /// ("such a f u c k" → "afuck", boundary at 1). Whole-word matching accepts it.
    /// </summary>
    public bool IsSoftBoundary(int index)
    {
        for (var k = 0; k < SoftBoundaryCount; k++)
        {
            if (_soft[k] == index)
            {
                return true;
            }
        }

        return false;
    }

    internal void AddSoftBoundary(int index)
    {
        if (SoftBoundaryCount == _soft.Length)
        {
            Array.Resize(ref _soft, _soft.Length * 2);
        }

        _soft[SoftBoundaryCount++] = index;
    }

    private int[] _joined = new int[8];

    /// <summary>How many joined runs the last normalisation recorded.</summary>
    internal int JoinedRunCount { get; set; }

    /// <summary>
    /// A run of spaced letters joined into one word ([start, end) in the normalised text, without a one-letter word at
    /// its ends that keeps a soft boundary). Recorded in increasing order.
    /// </summary>
    internal void AddJoinedRun(int start, int end)
    {
        if (2 * JoinedRunCount == _joined.Length)
        {
            Array.Resize(ref _joined, _joined.Length * 2);
        }

        _joined[2 * JoinedRunCount] = start;
        _joined[(2 * JoinedRunCount) + 1] = end;
        JoinedRunCount++;
    }

    /// <summary>
    /// The original range of the normalised characters [<paramref name="start"/>, <paramref name="end"/>), widened to
    /// the whole of a joined run it cuts into: "s p a m.f.r.e.e money" reads "spa mfree money", and a match of
    /// "free money" that starred out only "f.r.e.e money" would leave "m" to join "s p a" (issue 17, finding 8).
    /// </summary>
    public (int Start, int End) OriginalRange(int start, int end)
    {
        if (JoinedRunCount > 0)
        {
            var k = RunAt(start);
            if (k >= 0 && _joined[2 * k] < start)
            {
                start = _joined[2 * k];
            }

            k = RunAt(end - 1);
            if (k >= 0 && _joined[(2 * k) + 1] > end)
            {
                end = _joined[(2 * k) + 1];
            }
        }

        return (_starts[start], _ends[end - 1]);
    }

    /// <summary>The joined run holding the normalised index, or -1.</summary>
    private int RunAt(int index)
    {
        int lo = 0, hi = JoinedRunCount - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >> 1;
            if (_joined[(2 * mid) + 1] <= index)
            {
                lo = mid + 1;
            }
            else if (_joined[2 * mid] > index)
            {
                hi = mid - 1;
            }
            else
            {
                return mid;
            }
        }

        return -1;
    }

    internal char[] Chars => _chars;

    internal int[] Starts => _starts;

    internal int[] Ends => _ends;

    internal void EnsureCapacity(int capacity)
    {
        if (capacity <= _chars.Length)
        {
            return;
        }

        var size = Math.Max(capacity, _chars.Length * 2);
        Array.Resize(ref _chars, size);
        Array.Resize(ref _starts, size);
        Array.Resize(ref _ends, size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Append(char c, int start, int end)
    {
        var n = Length;
        if (n == _chars.Length)
        {
            EnsureCapacity(n + 1);
        }

        _chars[n] = c;
        _starts[n] = start;
        _ends[n] = end;
        Length = n + 1;
    }
}
