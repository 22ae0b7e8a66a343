using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Presentation;

namespace Gateway.Cli;

/// <summary>
/// The command line others script against: <c>serve</c> (default), <c>validate</c>, <c>check</c>. Exit codes:
/// 0 success (for <c>check</c>: whatever the verdict), 1 the gateway could not start (a listener cannot bind),
/// 2 bad config or bad usage.
/// </summary>
internal static class GatewayCli
{
    public const string Usage = """
        usage:
          gateway [serve] [--config FILE] [--allow-diagnostics]
          gateway validate [--config FILE]
          gateway check [--config FILE] [--direct] [--moderator] [--sender ID] [--room ID] [--field NAME] TEXT
          gateway version | --help | --version

        FILE defaults to ./gateway.toml. NAME is body (default), title, link or display_name.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var verb = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "serve";
        var rest = verb == "serve" && (args.Length == 0 || args[0].StartsWith('-')) ? args : args[1..];
        if (args.Length > 0 && args[0] is "--help" or "-h" or "help")
        {
            await stdout.WriteLineAsync(Usage);
            return 0;
        }

        if (args.Length > 0 && args[0] is "--version" or "version")
        {
            await stdout.WriteLineAsync(BuildInfo.Describe());
            return 0;
        }

        if (verb == "serve")
        {
            // Before anything else: it may re-execute the process (same pid) with the diagnostics port off.
            ProcessHardening.Apply(rest, stderr);
        }

        if (!TryParseOptions(rest, out var options, out var usageError))
        {
            await stderr.WriteLineAsync($"gateway: {usageError}");
            await stderr.WriteLineAsync(Usage);
            return 2;
        }

        return verb switch
        {
            "serve" => await ServeAsync(options, rest, stderr),
            "validate" => await ValidateAsync(options, stdout, stderr),
            "check" => await CheckAsync(options, stdout, stderr),
            _ => await UnknownVerbAsync(verb, stderr),
        };
    }

    private static async Task<int> UnknownVerbAsync(string verb, TextWriter stderr)
    {
        await stderr.WriteLineAsync($"gateway: unknown command \"{verb}\"");
        await stderr.WriteLineAsync(Usage);
        return 2;
    }

    private static async Task<int> ServeAsync(CliOptions options, string[] rest, TextWriter stderr)
    {
        var result = ConfigLoader.LoadFile(options.ConfigPath);
        if (!result.Ok)
        {
            await WriteErrorsAsync(result, stderr);
            // A file that cannot be read is a start failure like a busy port (exit 1); a file that reads but is
            // invalid is a bad config (exit 2, as validate answers).
            return result.Unreadable ? 1 : 2;
        }

        WebApplication app;
        try
        {
            // The host logs a failed start as an error with the whole stack; this command reports it in one line
            // below, so that record is left out. A Critical host record (a background service stopping it) still shows.
            app = GatewayApp.Build(result.Config!, b => b.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await stderr.WriteLineAsync($"gateway: cannot start: {FirstLine(ex.Message)}");
            return 1;
        }

        await using (app)
        {
            try
            {
                await app.StartAsync();
                var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway");
                if (ProcessHardening.DiagnosticsAllowed(rest))
                {
                    Log.HardeningOff(logger, ProcessHardening.Status);
                }
                else
                {
                    Log.Hardened(logger, ProcessHardening.Status);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A port in use or not ours to bind: Kestrel's message names the address ("Failed to bind to address
                // http://127.0.0.1:8080: address already in use."). One line, exit 1; no stack, no core dump.
                await stderr.WriteLineAsync($"gateway: cannot start: {FirstLine(ex.Message)}");
                return 1;
            }

            await app.WaitForShutdownAsync();
        }

        return 0;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }

    private static async Task<int> ValidateAsync(CliOptions options, TextWriter stdout, TextWriter stderr)
    {
        var result = ConfigLoader.LoadFile(options.ConfigPath);
        if (!result.Ok)
        {
            await WriteErrorsAsync(result, stderr);
            return 2;
        }

        var c = result.Config!;
        foreach (var w in c.Warnings)
        {
            await stderr.WriteLineAsync($"warning: {w}");
        }

        var policy = c.CompiledPolicy ?? PolicyCompiler.Compile(c.Filters, c.Limits.Policy);
        await stdout.WriteLineAsync($"{options.ConfigPath}: valid ({c.Backends.Count} backends, {policy.FilterCount} active filters, {policy.KeywordCount} keywords, {policy.RegexCount} regexes, {c.Protections.Count(p => p.Enabled)} protections, {c.IpBlocks.Count} IP blocks)");
        return 0;
    }

    private static async Task<int> CheckAsync(CliOptions options, TextWriter stdout, TextWriter stderr)
    {
        if (options.Text is null)
        {
            await stderr.WriteLineAsync("gateway: check needs the TEXT to evaluate");
            await stderr.WriteLineAsync(Usage);
            return 2;
        }

        var result = ConfigLoader.LoadFile(options.ConfigPath);
        if (!result.Ok)
        {
            await WriteErrorsAsync(result, stderr);
            return 2;
        }

        var policy = result.Config!.CompiledPolicy ?? PolicyCompiler.Compile(result.Config.Filters, result.Config.Limits.Policy);
        var message = new ChatMessage
        {
            Protocol = "cli",
            Sender = options.Sender,
            Room = options.Room,
            IsDirect = options.Direct,
            SenderIsModerator = options.Moderator,
            Fields = new[] { new MessageField(options.Field, options.Text) },
        };
        var verdict = policy.Evaluate(message);
        await stdout.WriteLineAsync(VerdictPresenter.ToJson(message, verdict, options.Field).ToJsonString(new JsonSerializerOptions { WriteIndented = false }));
        return 0;
    }

    private static async Task WriteErrorsAsync(ConfigLoadResult result, TextWriter stderr)
    {
        if (result.Errors is [{ Line: 0 } fileError])
        {
            // The config file itself could not be read: one line says it all.
            await stderr.WriteLineAsync($"gateway: {fileError}");
            return;
        }

        foreach (var e in result.Errors)
        {
            await stderr.WriteLineAsync(e.ToString());
        }

        await stderr.WriteLineAsync($"{result.Errors.Count} problem{(result.Errors.Count == 1 ? "" : "s")} found; the config was not loaded.");
    }

    private static bool TryParseOptions(string[] args, out CliOptions options, out string? error)
    {
        options = new CliOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string? Next()
            {
                if (i + 1 < args.Length)
                {
                    return args[++i];
                }

                return null;
            }

            switch (a)
            {
                case "--config" or "-c":
                    options = options with { ConfigPath = Next() ?? "" };
                    if (options.ConfigPath.Length == 0)
                    {
                        error = "--config needs a file";
                        return false;
                    }

                    break;
                case ProcessHardening.AllowFlag:
                    break; // read by ProcessHardening before the options
                case "--direct":
                    options = options with { Direct = true };
                    break;
                case "--moderator":
                    options = options with { Moderator = true };
                    break;
                case "--sender":
                    options = options with { Sender = Next() };
                    break;
                case "--room":
                    options = options with { Room = Next() };
                    break;
                case "--field":
                    var f = Next();
                    FieldKind? kind = f switch
                    {
                        "body" => FieldKind.Body,
                        "title" => FieldKind.Title,
                        "link" => FieldKind.Link,
                        "display_name" => FieldKind.DisplayName,
                        _ => null,
                    };
                    if (kind is null)
                    {
                        error = $"unknown --field \"{f}\"; known: body, title, link, display_name";
                        return false;
                    }

                    options = options with { Field = kind.Value };
                    break;
                case "--":
                    options = options with { Text = string.Join(' ', args[(i + 1)..]) };
                    return true;
                default:
                    if (a.StartsWith("--", StringComparison.Ordinal))
                    {
                        error = $"unknown option \"{a}\"";
                        return false;
                    }

                    options = options with { Text = options.Text is null ? a : options.Text + " " + a };
                    break;
            }
        }

        return true;
    }

    private sealed record CliOptions
    {
        public string ConfigPath { get; init; } = "gateway.toml";

        public bool Direct { get; init; }

        public bool Moderator { get; init; }

        public string? Sender { get; init; }

        public string? Room { get; init; }

        public FieldKind Field { get; init; } = FieldKind.Body;

        public string? Text { get; init; }
    }
}
