using Gateway.Protocols.Configuration;
using System.Diagnostics;
using Gateway.Cli;
using Gateway.Configuration;

namespace Gateway.Tests.Configuration;

/// <summary>
/// Issue 9, defects 6 and 7: every file the config names can be a symlink loop, /proc/self/mem (EIO), /dev/zero, a
/// FIFO, a directory or far too big. Each is a config error on its key, with its position, never a crash or a hang.
/// </summary>
public sealed class ConfigFileSafetyTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gateway-files-" + Guid.NewGuid().ToString("N"));

    public ConfigFileSafetyTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A config naming {0} under each key that names a file; the key path as errors print it.</summary>
    public static readonly (string Toml, string Key)[] Keys =
    {
        ("[[filters]]\nname = \"f\"\nkeyword_files = [\"{0}\"]\n", "filters[0].keyword_files"),
        ("[[filters]]\nname = \"f\"\nkeywords = [\"x\"]\nallow_files = [\"{0}\"]\n", "filters[0].allow_files"),
        ("[ip_blocks]\nfiles = [\"{0}\"]\n", "ip_blocks.files"),
        ("[matrix]\npolicy_lists = [\"{0}\"]\n", "matrix.policy_lists"),
        ("[reports]\nurl = \"http://127.0.0.1:1/hook\"\nsecret_file = \"{0}\"\n", "reports.secret_file"),
        ("[admin]\ntoken_file = \"{0}\"\n", "admin.token_file"),
        ("[matrix.antispam]\nenabled = true\ntoken_file = \"{0}\"\n", "matrix.antispam.token_file"),
    };

    /// <summary>How each bad file is made, and a fragment of the message it must produce.</summary>
    public static readonly string[] Kinds = { "symlink-loop", "proc-self-mem", "dev-zero", "too-big", "fifo", "directory" };

    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        for (var k = 0; k < Keys.Length; k++)
        {
            foreach (var kind in Kinds)
            {
                data.Add(k, kind);
            }
        }

        return data;
    }

    private string Make(string kind)
    {
        var name = kind + "-" + Guid.NewGuid().ToString("N")[..8];
        var path = Path.Combine(_dir, name);
        switch (kind)
        {
            case "symlink-loop":
                File.CreateSymbolicLink(path, path + ".other");
                File.CreateSymbolicLink(path + ".other", path);
                return name;
            case "proc-self-mem":
                return "/proc/self/mem";
            case "dev-zero":
                return "/dev/zero";
            case "too-big":
                File.WriteAllText(path, new string('a', 5000));
                return name;
            case "fifo":
                MakeFifo(path);
                return name;
            default:
                Directory.CreateDirectory(path);
                return name;
        }
    }

    internal static void MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", new[] { path }) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static string Expected(string kind) => kind switch
    {
        "symlink-loop" => "Too many levels of symbolic links",
        "proc-self-mem" => "Input/output error",
        "dev-zero" => "is a character device, not a regular file",
        "too-big" => "more than limits.max_list_file_bytes (4096)",
        "fifo" => "is a FIFO (named pipe), not a regular file",
        _ => "is a directory, not a regular file",
    };

    /// <summary>
    /// Runs <paramref name="load"/> with a bound, so that a load that blocks (the defect) fails the test instead of
    /// hanging it; a reader stuck opening one of our FIFOs is released by opening it for writing.
    /// </summary>
    internal static async Task<T> Bounded<T>(Func<T> load, string dir)
    {
        var task = Task.Factory.StartNew(load, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(30))) != task)
        {
            foreach (var fifo in Directory.EnumerateFiles(dir, "fifo-*"))
            {
                using var release = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            }

            Assert.Fail("loading the config blocked instead of reporting the file");
        }

        return await task;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Load_UnreadableListFile_IsAConfigErrorOnItsKey(int keyIndex, string kind)
    {
        var (template, key) = Keys[keyIndex];
        var body = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Make(kind));
        var toml = "[limits]\nmax_list_file_bytes = 4096\n" + body;
        var line = 2 + Array.FindIndex(body.Split('\n'), l => l.StartsWith(key[(key.LastIndexOf('.') + 1)..] + " =", StringComparison.Ordinal)) + 1;
        var config = Path.Combine(_dir, "gateway.toml");
        await File.WriteAllTextAsync(config, toml);

        var result = await Bounded(() => ConfigLoader.LoadFile(config), _dir);

        Assert.False(result.Ok);
        var errors = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains(errors, e => e.StartsWith($"gateway.toml:{line}:1: {key}: ", StringComparison.Ordinal)
            && e.Contains(Expected(kind), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validate_EveryKindOfBadFile_ListsEachAndExitsTwo()
    {
        var files = Kinds.Select(Make).ToArray();
        var toml = "[limits]\nmax_list_file_bytes = 4096\n[[filters]]\nname = \"f\"\nkeyword_files = ["
            + string.Join(", ", files.Select(f => $"\"{f}\"")) + "]\n";
        var config = Path.Combine(_dir, "gateway.toml");
        await File.WriteAllTextAsync(config, toml);
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await Bounded(() => GatewayCli.RunAsync(new[] { "validate", "--config", config }, stdout, stderr).GetAwaiter().GetResult(), _dir);

        Assert.Equal(2, code);
        var err = stderr.ToString();
        foreach (var kind in Kinds)
        {
            Assert.Contains(Expected(kind), err);
        }

        Assert.Contains($"{Kinds.Length} problems found", err);
    }

    [Fact]
    public async Task Load_ConfigFileItselfIsAFifo_IsReportedNotBlocking()
    {
        var config = Path.Combine(_dir, "fifo-config.toml");
        MakeFifo(config);

        var result = await Bounded(() => ConfigLoader.LoadFile(config), _dir);

        Assert.False(result.Ok);
        Assert.Contains("is a FIFO (named pipe), not a regular file", Assert.Single(result.Errors).Message);
    }

    [Fact]
    public void Load_ListFileUnderTheCap_IsRead()
    {
        File.WriteAllText(Path.Combine(_dir, "words.txt"), "\uFEFFzebra\n# comment\n");
        var result = ConfigLoader.Load("[limits]\nmax_list_file_bytes = 4096\n[[filters]]\nname = \"f\"\nkeyword_files = [\"words.txt\"]\n",
            Path.Combine(_dir, "gateway.toml"));
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(new[] { "zebra" }, result.Config!.Filters[0].Keywords);
    }
}
