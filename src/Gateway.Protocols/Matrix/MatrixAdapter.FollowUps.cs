using System.Text;
using Gateway.Policy.Model;
using Gateway.Protocols.Abstractions;
using Microsoft.AspNetCore.Http;

namespace Gateway.Protocols.Matrix;

/// <summary>The adapter's follow-ups to dropped sends (receipts, event reads) and the room directory's texts.</summary>
public sealed partial class MatrixAdapter
{
    /// <summary>The id a dropped send answers: real shape, and the same one again for a retry of the same txnId.</summary>
    private string DroppedEventId(HttpContext context, MatrixPath path) =>
        AccessToken(context.Request) is { } token ? _drops.EventIdFor(token, path.TxnId) : MatrixDrops.NewEventId();

    /// <summary>
    /// Receipts and read markers that name an id this client got for a dropped message are answered as the homeserver
    /// answers a success (it would say 404: the event does not exist); reads of such an event's content are answered
    /// as for an event the server does not have. The dropped text is never kept, so nothing else can be faked.
    /// </summary>
    private AdapterParse FollowUp(MatrixPath path, string token, ReadOnlySpan<byte> body)
    {
        var named = path.EventId is { } id ? new[] { id } : MarkerIds(body);
        foreach (var eventId in named)
        {
            if (_drops.IsDropped(token, eventId))
            {
                return new AdapterParse
                {
                    Messages = Array.Empty<ChatMessage>(),
                    State = path.Kind == MatrixRequestKind.Marker
                        ? new Answer(200, "{}"u8.ToArray())
                        : new Answer(404, """{"errcode":"M_NOT_FOUND","error":"Event not found."}"""u8.ToArray()),
                };
            }
        }

        return AdapterParse.NoMessages;
    }

    /// <summary>The ids a <c>read_markers</c> body names (<c>m.fully_read</c>, <c>m.read</c>, <c>m.read.private</c>).</summary>
    private static IReadOnlyList<string> MarkerIds(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty || body.IndexOf((byte)'$') < 0)
        {
            return Array.Empty<string>();
        }

        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(body, new System.Text.Json.JsonReaderOptions { MaxDepth = 8 });
            using var doc = System.Text.Json.JsonDocument.ParseValue(ref reader);
            var ids = new List<string>();
            if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (p.Value.ValueKind == System.Text.Json.JsonValueKind.String)
                    {
                        ids.Add(p.Value.GetString()!);
                    }
                }
            }

            return ids;
        }
        catch (System.Text.Json.JsonException)
        {
            return Array.Empty<string>(); // the homeserver answers malformed bodies itself
        }
    }

    private static readonly HashSet<string> InspectedStateTypes = new(StringComparer.Ordinal)
    {
        "m.room.name", "m.room.topic", "m.room.member", "m.room.canonical_alias", "m.room.avatar",
    };

    private static string CannotRewriteMessage(MatrixPath path) => path.Kind == MatrixRequestKind.DirectoryPublish
        ? "This room's name, topic or address was blocked by the server's content filter, so it cannot be published."
        : "This room address was blocked by the server's content filter.";

    /// <summary>
    /// Publishing (<c>{"visibility":"public"}</c>) shows the room's current name, topic and canonical alias to everyone
    /// browsing the directory: they are read from the homeserver and checked as title, body and title. Hiding a room
    /// (<c>private</c>) is never checked.
    /// </summary>
    private async ValueTask<MatrixContent> PublishedTextsAsync(string token, string roomId, byte[] body, CancellationToken cancellationToken)
    {
        if (!IsPublishing(body))
        {
            return MatrixContent.FromPath(null);
        }

        var texts = await _directory.RoomTextsAsync(token, roomId, cancellationToken);
        return MatrixContent.FromTexts(
            (FieldKind.Title, texts.Name), (FieldKind.Body, texts.Topic), (FieldKind.Title, texts.Alias));
    }

    private static bool IsPublishing(byte[] body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body, new System.Text.Json.JsonDocumentOptions { MaxDepth = 8 });
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && doc.RootElement.TryGetProperty("visibility", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String
                && v.GetString() == "public";
        }
        catch (System.Text.Json.JsonException)
        {
            return false; // the homeserver answers malformed bodies itself
        }
    }
}
