using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Gateway.Benchmarks.Engines;

/// <summary>
/// Vectorscan (the portable Hyperscan fork, Debian's libvectorscan5) through P/Invoke: block-mode databases compiled
/// once, one scratch per database, a match callback that only counts. Scans UTF-8 bytes prepared in advance, so the
/// figure is the library's own speed: the practical limit for multi-literal matching on this CPU.
/// </summary>
internal sealed unsafe partial class VectorscanDatabase : IDisposable
{
    public const uint Caseless = 1;
    public const uint SingleMatch = 8;

    private nint _db;
    private nint _scratch;

    private VectorscanDatabase(nint db, nint scratch)
    {
        _db = db;
        _scratch = scratch;
    }

    public static string Version => Marshal.PtrToStringUTF8((nint)Native.Version()) ?? "?";

    public static bool IsAvailable()
    {
        try
        {
            _ = Version;
            return true;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>A pattern for a literal: every byte of its UTF-8 form that is not a letter or digit as \xHH.</summary>
    public static string EscapeLiteral(string literal)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(literal))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9')
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    public static VectorscanDatabase Compile(IReadOnlyList<(string Expression, uint Flags)> patterns)
    {
        var n = patterns.Count;
        var expressions = new nint[n];
        var flags = new uint[n];
        var ids = new uint[n];
        try
        {
            for (var i = 0; i < n; i++)
            {
                expressions[i] = Marshal.StringToCoTaskMemUTF8(patterns[i].Expression);
                flags[i] = patterns[i].Flags;
                ids[i] = (uint)i;
            }

            nint db;
            Native.CompileError* error;
            int rc;
            fixed (nint* e = expressions)
            fixed (uint* f = flags)
            fixed (uint* id = ids)
            {
                rc = Native.CompileMulti((byte**)e, f, id, (uint)n, Native.ModeBlock, null, &db, &error);
            }

            if (rc != 0)
            {
                var message = error is null ? $"error {rc}" : Marshal.PtrToStringUTF8((nint)error->Message) ?? "?";
                var which = error is null ? -1 : error->Expression;
                if (error is not null)
                {
                    _ = Native.FreeCompileError(error);
                }

                throw new InvalidOperationException($"hs_compile_multi failed: {message} (pattern {which}: {(which >= 0 ? patterns[which].Expression : "")})");
            }

            nint scratch = 0;
            if (Native.AllocScratch(db, &scratch) != 0)
            {
                _ = Native.FreeDatabase(db);
                throw new InvalidOperationException("hs_alloc_scratch failed");
            }

            return new VectorscanDatabase(db, scratch);
        }
        finally
        {
            foreach (var e in expressions)
            {
                Marshal.FreeCoTaskMem(e);
            }
        }
    }

    public long SizeBytes
    {
        get
        {
            nuint size;
            return Native.DatabaseSize(_db, &size) == 0 ? (long)size : -1;
        }
    }

    /// <summary>Scans and returns the number of matches reported.</summary>
    public int Scan(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        fixed (byte* p = utf8)
        {
            var rc = Native.Scan(_db, p, (uint)utf8.Length, 0, _scratch, &OnMatch, &count);
            if (rc != 0)
            {
                throw new InvalidOperationException($"hs_scan failed: {rc}");
            }
        }

        return count;
    }

    public void Dispose()
    {
        if (_scratch != 0)
        {
            _ = Native.FreeScratch(_scratch);
            _scratch = 0;
        }

        if (_db != 0)
        {
            _ = Native.FreeDatabase(_db);
            _db = 0;
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnMatch(uint id, ulong from, ulong to, uint flags, void* context)
    {
        (*(int*)context)++;
        return 0; // keep scanning
    }

    private static partial class Native
    {
        // The runtime package's soname, so the -dev package is not needed.
        private const string Library = "libhs.so.5";

        public const uint ModeBlock = 1;

        [StructLayout(LayoutKind.Sequential)]
        public struct CompileError
        {
            public byte* Message;
            public int Expression;
        }

        [LibraryImport(Library, EntryPoint = "hs_compile_multi")]
        public static partial int CompileMulti(byte** expressions, uint* flags, uint* ids, uint elements, uint mode,
            void* platform, nint* db, CompileError** error);

        [LibraryImport(Library, EntryPoint = "hs_free_compile_error")]
        public static partial int FreeCompileError(CompileError* error);

        [LibraryImport(Library, EntryPoint = "hs_alloc_scratch")]
        public static partial int AllocScratch(nint db, nint* scratch);

        [LibraryImport(Library, EntryPoint = "hs_scan")]
        public static partial int Scan(nint db, byte* data, uint length, uint flags, nint scratch,
            delegate* unmanaged[Cdecl]<uint, ulong, ulong, uint, void*, int> onEvent, void* context);

        [LibraryImport(Library, EntryPoint = "hs_free_database")]
        public static partial int FreeDatabase(nint db);

        [LibraryImport(Library, EntryPoint = "hs_free_scratch")]
        public static partial int FreeScratch(nint scratch);

        [LibraryImport(Library, EntryPoint = "hs_database_size")]
        public static partial int DatabaseSize(nint db, nuint* size);

        [LibraryImport(Library, EntryPoint = "hs_version")]
        public static partial byte* Version();
    }
}
