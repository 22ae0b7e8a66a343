using Gateway.Protocols.Configuration;
using System.Runtime.InteropServices;
using System.Text;

namespace Gateway.Configuration;

/// <summary>
/// The one way the gateway reads a file its config names (gateway.toml itself, word and IP lists, policy lists,
/// secrets, certificates). Such a path can be anything an operator or attacker points it at: a symlink loop,
/// <c>/proc/self/mem</c> (EIO), <c>/dev/zero</c> (endless), a FIFO (open blocks forever), a 1 GiB file. So: stat
/// first (regular files only), cap the size, read with a time bound, and turn every failure into a message that
/// the caller files as a config error (issue 9, defects 6 and 7). Never throws for I/O.
/// </summary>
internal static class ConfigFile
{
    /// <summary>Default of <c>limits.max_list_file_bytes</c>, and the cap for gateway.toml itself.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    /// <summary>How long one file may take to open and read before it is reported instead.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Reads <paramref name="fullPath"/> as UTF-8 text. On failure <paramref name="error"/> completes a sentence whose
    /// subject is the file ("word list \"x\" " + error), and names the path.
    /// </summary>
    public static bool TryReadText(string fullPath, long maxBytes, out string text, out string error, TimeSpan? timeout = null)
    {
        text = "";
        if (!TryReadBytes(fullPath, maxBytes, timeout ?? DefaultTimeout, out var bytes, out error))
        {
            return false;
        }

        // Like File.ReadAllText: a UTF-8 byte-order mark is not part of the text.
        var span = bytes.AsSpan();
        if (span.StartsWith("\uFEFF"u8))
        {
            span = span[3..];
        }

        text = Encoding.UTF8.GetString(span);
        return true;
    }

    private static bool TryReadBytes(string path, long maxBytes, TimeSpan timeout, out byte[] bytes, out string error)
    {
        bytes = Array.Empty<byte>();
        if (!TryStat(path, out var kind, out var size, out error))
        {
            return false;
        }

        if (kind != FileKind.Regular)
        {
            error = $"is {Describe(kind)}, not a regular file ({path})";
            return false;
        }

        if (size > maxBytes)
        {
            error = $"is {size} bytes, more than limits.max_list_file_bytes ({maxBytes}) ({path})";
            return false;
        }

        // The stat above rules out FIFOs and devices, but the path can be swapped between stat and open, and a
        // regular file on a hung network mount blocks too: the read runs on its own thread and is abandoned (with
        // its thread) when it takes too long, so a reload or `validate` always answers.
        var read = Task.Factory.StartNew(() => ReadCapped(path, maxBytes), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!read.Wait(timeout))
            {
                error = $"could not be read within {timeout.TotalSeconds:0.#} s ({path})";
                return false;
            }
        }
        catch (AggregateException ex) when (ex.InnerException is { } inner)
        {
            error = $"cannot be read ({path}): {Reason(inner)}";
            return false;
        }

        (bytes, error) = read.Result;
        return error.Length == 0;
    }

    private static (byte[] Bytes, string Error) ReadCapped(string path, long maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            // The file may have grown since the stat: the cap holds for what is actually read.
            if (buffer.Length + n > maxBytes)
            {
                return (Array.Empty<byte>(), $"is more than limits.max_list_file_bytes ({maxBytes}) bytes ({path})");
            }

            buffer.Write(chunk, 0, n);
        }

        return (buffer.ToArray(), "");
    }

    private static string Reason(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "it does not exist",
        UnauthorizedAccessException => "permission denied",
        _ => ex.Message,
    };

    private enum FileKind
    {
        Regular,
        Directory,
        CharacterDevice,
        BlockDevice,
        Fifo,
        Socket,
        Other,
    }

    private static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        _ => "a special file",
    };

    private static bool TryStat(string path, out FileKind kind, out long size, out string error)
    {
        kind = FileKind.Other;
        size = 0;
        error = "";
        if (OperatingSystem.IsLinux())
        {
            try
            {
                return TryStatx(path, out kind, out size, out error);
            }
            catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
            {
                // A libc without statx (very old glibc): fall through to what .NET can tell.
            }
        }

        try
        {
            // Follows symlinks to the end; a loop throws here with the OS's message.
            var target = File.ResolveLinkTarget(path, returnFinalTarget: true);
            var info = new FileInfo(target?.FullName ?? path);
            if (Directory.Exists(info.FullName))
            {
                kind = FileKind.Directory;
                return true;
            }

            if (!info.Exists)
            {
                error = $"does not exist (looked for {path})";
                return false;
            }

            kind = FileKind.Regular;
            size = info.Length;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = $"cannot be read ({path}): {Reason(ex)}";
            return false;
        }
    }

    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int dirFd, string path, int flags, uint mask, [Out] byte[] buffer);

    /// <summary>
    /// statx(2) rather than stat(2): struct statx has one layout on every Linux architecture, so no per-arch
    /// struct definitions. Offsets: stx_mode (u16) at 28, stx_size (u64) at 40; the struct is 256 bytes.
    /// </summary>
    private static bool TryStatx(string path, out FileKind kind, out long size, out string error)
    {
        kind = FileKind.Other;
        size = 0;
        error = "";
        var buffer = new byte[256];
        if (Statx(AtFdCwd, path, 0, StatxType | StatxSize, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            error = errno is ENOENT or ENOTDIR
                ? $"does not exist (looked for {path})"
                : $"cannot be read ({path}): {Marshal.GetPInvokeErrorMessage(errno)}";
            return false;
        }

        var mode = BitConverter.ToUInt16(buffer, 28) & 0xF000;
        kind = mode switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            _ => FileKind.Other,
        };
        size = (long)Math.Min(BitConverter.ToUInt64(buffer, 40), long.MaxValue);
        return true;
    }
}
