using System.Text;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Modules;

/// <summary>
/// A protocol module that lives only in the tests, to prove the seam: a made-up "plaintext" chat API whose request
/// body is the message itself (UTF-8 text) and whose sender is a header. It is the example docs/protocols.md walks
/// through. <c>[backends.plaintext]</c> takes <c>sender_header</c> and <c>signed</c> (bodies that must never be
/// rewritten, so the host applies the route's censor_fallback) and <c>words_file</c> (a file of its own: one banned
/// word per line, rejected on this backend only, through <see cref="IProtocolModule.BackendFilters"/>); a route may
/// set <c>plaintext.room</c>.
/// </summary>
internal sealed class PlainTextModule : IProtocolModule
{
    public const string ProtocolName = "plaintext";

    public string Name => ProtocolName;

    public object? ReadBackend(ModuleConfigContext context, BackendDraft backend, TomlTableReader? table)
    {
        if (table is null)
        {
            return new PlainTextBackend("X-User", Signed: false, Words: Array.Empty<string>());
        }

        var wordsFile = table.String("words_file");
        var words = wordsFile is null ? null : context.Files.ReadText(table, "words_file", wordsFile, "word file");
        var settings = new PlainTextBackend(table.String("sender_header", "X-User")!, table.Bool("signed", false),
            words?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? Array.Empty<string>());
        if (settings.SenderHeader.Length == 0)
        {
            table.Error("sender_header", "must name a header");
        }

        table.Finish();
        return settings;
    }

    public IReadOnlyList<FilterDefinition> BackendFilters(object? backendSettings) =>
        backendSettings is PlainTextBackend { Words.Count: > 0 } b
            ? new[] { new FilterDefinition { Name = "words_file", Keywords = b.Words, Action = FilterAction.Reject, Notice = "Not on this board." } }
            : Array.Empty<FilterDefinition>();

    public IReadOnlyList<RouteDefaults> DefaultRoutes(object? backendSettings) => new[] { new RouteDefaults("/", Inspect: true) };

    public object? ReadRoute(ModuleConfigContext context, RouteDraft draft, object? backendSettings, TomlTableReader route)
    {
        var table = route.Table(ProtocolName);
        var room = table?.String("room");
        table?.Finish();
        return room;
    }

    public IModuleRuntime CreateRuntime(IServiceProvider services) => new Runtime();

    private sealed record PlainTextBackend(string SenderHeader, bool Signed, IReadOnlyList<string> Words);

    private sealed class Runtime : IModuleRuntime
    {
        public RouteHandler BuildRoute(RouteBuildContext context)
        {
            var backend = (PlainTextBackend)context.BackendSettings!;
            return new RouteHandler
            {
                Http = context.Inspect ? new Adapter(backend.SenderHeader, context.RouteSettings as string ?? "lobby") : null,
                Capabilities = backend.Signed ? new ModuleCapabilities { CanRewrite = false } : ModuleCapabilities.Rewritable,
            };
        }

        public void Dispose()
        {
        }
    }

    /// <summary>The codec: the body is the text; a drop answers 202, a reject 403 with the notice as text.</summary>
    private sealed class Adapter(string senderHeader, string room) : IProtocolAdapter
    {
        public string Protocol => ProtocolName;

        public bool ShouldInspect(HttpRequest request) => HttpMethods.IsPost(request.Method);

        public ValueTask<AdapterParse> ParseAsync(HttpContext context, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body.Span);
            }
            catch (DecoderFallbackException)
            {
                return ValueTask.FromResult(AdapterParse.Failed("invalid_utf8", "The message is not UTF-8 text."));
            }

            var message = new ChatMessage
            {
                Protocol = ProtocolName,
                Sender = context.Request.Headers[senderHeader].ToString(),
                Room = room,
                Fields = new[] { new MessageField(FieldKind.Body, text) },
            };
            return ValueTask.FromResult(new AdapterParse { Messages = new[] { message } });
        }

        public AdapterOutcome Apply(HttpContext context, AdapterParse parsed, ReadOnlySpan<Verdict> verdicts, ReadOnlyMemory<byte> body)
        {
            var v = verdicts[0];
            return v.Action switch
            {
                VerdictAction.Drop => AdapterOutcome.Respond(202, Array.Empty<byte>(), "text/plain"),
                VerdictAction.Reject => AdapterOutcome.Respond(403, Encoding.UTF8.GetBytes(v.Notice ?? "rejected"), "text/plain"),
                VerdictAction.Censor => AdapterOutcome.Rewritten(Encoding.UTF8.GetBytes(v.DeliveredText(parsed.Messages[0], FieldKind.Body)!)),
                _ => AdapterOutcome.ForwardUnchanged,
            };
        }
    }
}
