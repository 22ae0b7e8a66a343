using System.Runtime.InteropServices;
using System.Text;

namespace Gateway.Hosting;

/// <summary>
/// DM context lives in this process's memory only; this keeps other processes of the same (non-root) user out of it
/// (issue 17 #3: DM buffers "not easily spyable by admin users"). On Linux, before <c>serve</c> starts:
/// <list type="bullet">
/// <item>the .NET diagnostics port (the IPC socket dotnet-dump, dotnet-trace and dotnet-counters attach through) is
/// off: the runtime reads <c>DOTNET_EnableDiagnostics</c> only at start, so the process re-executes itself once
/// (execve, same pid) with it set to 0, and with <c>DOTNET_DbgEnableMiniDump=0</c>;</item>
/// <item><c>prctl(PR_SET_DUMPABLE, 0)</c>: no ptrace attach (gdb, gcore) and no <c>/proc/&lt;pid&gt;/mem</c> for the same
/// user, and no core file on a crash; <c>RLIMIT_CORE</c> is 0 as well.</item>
/// </list>
/// <c>--allow-diagnostics</c> (or <c>GATEWAY_ALLOW_DIAGNOSTICS=1</c>) leaves all of it on for a debugging session and
/// says so in the log. Root (CAP_SYS_PTRACE) can still read the memory: see the README.
/// </summary>
internal static partial class ProcessHardening
{
    public const string AllowFlag = "--allow-diagnostics";
    public const string AllowVariable = "GATEWAY_ALLOW_DIAGNOSTICS";
    private const string DiagnosticsVariable = "DOTNET_EnableDiagnostics";
    private const string ArenaVariable = "MALLOC_ARENA_MAX";
    private const int PrSetDumpable = 4;
    private const int RlimitCore = 4;

    /// <summary>What was done, for the start-up log line.</summary>
    public static string Status { get; private set; } = "not applied (not serving)";

    public static bool DiagnosticsAllowed(IReadOnlyList<string> args) =>
        args.Contains(AllowFlag) || Environment.GetEnvironmentVariable(AllowVariable) is "1" or "true";

    /// <summary>Returns only when the process keeps running here (after a successful re-exec it never returns).</summary>
    public static void Apply(IReadOnlyList<string> args, TextWriter stderr)
    {
        if (!OperatingSystem.IsLinux())
        {
            Status = "not available on this OS";
            return;
        }

        if (DiagnosticsAllowed(args))
        {
            Status = "OFF: diagnostics allowed by the operator (dotnet-dump, ptrace and core files can read DM context)";
            return;
        }

        if (Environment.GetEnvironmentVariable(DiagnosticsVariable) != "0")
        {
            ReExecuteWithoutDiagnostics(stderr);
        }

        RemoveStaleDiagnosticsSocket();
        var dumpable = prctl(PrSetDumpable, 0, 0, 0, 0) == 0;
        var noCore = setrlimit(RlimitCore, new RLimit()) == 0;
        var port = Environment.GetEnvironmentVariable(DiagnosticsVariable) == "0";
        Status = $"diagnostics port {(port ? "off" : "ON (re-exec failed)")}, ptrace/proc-mem {(dumpable ? "off" : "ON (prctl failed)")}, core files {(noCore && dumpable ? "off" : "ON")}";
        if (!dumpable || !port)
        {
            stderr.WriteLine($"gateway: process hardening incomplete: {Status}");
        }
    }

    /// <summary>
    /// The runtime that ran before the re-exec (same pid) had opened its diagnostics socket and was replaced without
    /// removing the file: nothing listens on it any more, but tools would still find it. It goes.
    /// </summary>
    private static void RemoveStaleDiagnosticsSocket()
    {
        var dir = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } t ? t : "/tmp";
        try
        {
            foreach (var file in Directory.EnumerateFiles(dir, $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
            {
                File.Delete(file);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Another user's directory or a race with a cleaner: the socket is dead either way.
        }
    }

    private static void ReExecuteWithoutDiagnostics(TextWriter stderr)
    {
        string[] argv;
        try
        {
            argv = File.ReadAllText("/proc/self/cmdline", Encoding.UTF8).TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return;
        }

        var env = new List<string>();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (name is not DiagnosticsVariable and not "DOTNET_DbgEnableMiniDump")
            {
                env.Add($"{name}={e.Value}");
            }
        }

        env.Add(DiagnosticsVariable + "=0");
        env.Add("DOTNET_DbgEnableMiniDump=0");
        if (Environment.GetEnvironmentVariable(ArenaVariable) is null)
        {
            // Two glibc malloc arenas instead of up to 8 per core: fewer places for freed native memory to sit after a
            // burst (see NativeMemoryTrimmer). glibc reads it only at start, hence here. The operator's value wins.
            env.Add(ArenaVariable + "=2");
        }
        var argvPtrs = ToNative(argv);
        var envPtrs = ToNative(env);
        // The resolved path, not /proc/self/exe: ps and top would show "exe" as the process name.
        execve(Environment.ProcessPath ?? "/proc/self/exe", argvPtrs, envPtrs);
        // Only reached when execve failed: go on with the port on, and say so.
        stderr.WriteLine($"gateway: could not re-execute to turn the .NET diagnostics port off (errno {Marshal.GetLastPInvokeError()}); set {DiagnosticsVariable}=0 in the service environment");
    }

    private static IntPtr[] ToNative(IReadOnlyList<string> strings)
    {
        var result = new IntPtr[strings.Count + 1];
        for (var i = 0; i < strings.Count; i++)
        {
            result[i] = Marshal.StringToCoTaskMemUTF8(strings[i]);
        }

        return result; // NULL-terminated; freed by execve replacing the process (or leaked once on failure)
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, in RLimit limit);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int execve(string path, IntPtr[] argv, IntPtr[] envp);
}
