using System.Globalization;
using System.Text;
using System.Text.Json;
using Gateway.Configuration;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Runtime;

namespace Gateway.Reporting;

/// <summary>
/// One structured audit event per non-forward verdict: time, filter, action, protocol, room, sender — never message
/// text. Always through logging (category Gateway.Audit, event 3000); optionally also to a JSON-lines file with
/// size-based rotation (file, file.1, … file.N).
/// </summary>
internal sealed class AuditTrail(GatewayState state, TimeProvider time, ILogger<AuditTrail> logger) : IDisposable
{
    private readonly Lock _gate = new();
    private FileStream? _file;
    private string? _openPath;

    public void Record(ChatMessage message, Verdict verdict, string route)
    {
        var now = time.GetUtcNow();
        var action = verdict.Action.ToString().ToLowerInvariant();
        Log.Audit(logger, action, verdict.DecidingFilter, message.Protocol, route, message.Room, message.Sender, message.IsDirect);
        var settings = state.Current.Config.Audit;
        if (settings.File is null)
        {
            return;
        }

        var line = JsonSerializer.Serialize(new AuditLine(
            now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            action, verdict.DecidingFilter, message.Protocol, route, message.Room, message.Sender, message.IsDirect), AuditJson.Default.AuditLine);
        Append(settings, Encoding.UTF8.GetBytes(line + "\n"));
    }

    private void Append(AuditSettings settings, byte[] line)
    {
        lock (_gate)
        {
            try
            {
                if (_file is null || _openPath != settings.File)
                {
                    _file?.Dispose();
                    Directory.CreateDirectory(Path.GetDirectoryName(settings.File!)!);
                    _file = new FileStream(settings.File!, FileMode.Append, FileAccess.Write, FileShare.Read);
                    _openPath = settings.File;
                }

                if (_file.Length + line.Length > settings.MaxFileBytes)
                {
                    Rotate(settings);
                }

                _file.Write(line);
                _file.Flush();
            }
            catch (IOException ex)
            {
                Log.AuditFileFailed(logger, ex.GetType().Name);
            }
            catch (UnauthorizedAccessException ex)
            {
                Log.AuditFileFailed(logger, ex.GetType().Name);
            }
        }
    }

    private void Rotate(AuditSettings settings)
    {
        var path = settings.File!;
        _file!.Dispose();
        for (var i = settings.MaxFiles - 1; i >= 1; i--)
        {
            var from = i == 1 ? path : $"{path}.{i - 1}";
            var to = $"{path}.{i}";
            if (File.Exists(from))
            {
                File.Move(from, to, overwrite: true);
            }
        }

        if (settings.MaxFiles <= 1)
        {
            File.Delete(path);
        }

        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
            _file = null;
        }
    }
}

internal sealed record AuditLine(string Time, string Action, string? Filter, string Protocol, string Route, string? Room, string? Sender, bool Direct);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(AuditLine))]
internal sealed partial class AuditJson : System.Text.Json.Serialization.JsonSerializerContext;
