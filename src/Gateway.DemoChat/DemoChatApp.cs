using System.Collections.Concurrent;
using System.Text.Json.Serialization;

namespace Gateway.DemoChat;

/// <summary>A posted chat message, as the demo backend stores and returns it.</summary>
internal sealed record StoredMessage(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("room")] string Room,
    [property: JsonPropertyName("sender")] string Sender,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("direct")] bool Direct);

internal sealed record PostedMessage(
    [property: JsonPropertyName("room")] string? Room,
    [property: JsonPropertyName("sender")] string? Sender,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("direct")] bool? Direct);

/// <summary>
/// A tiny JSON chat API so `make run` works with no chat server installed: POST /api/messages stores a message and
/// answers 201 with it; GET /api/messages?room=R lists a room. In memory only, bounded to the last 1,000 messages.
/// </summary>
internal static class DemoChatApp
{
    public static WebApplication Build(string url)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
        builder.WebHost.UseUrls(url);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var app = builder.Build();
        var messages = new ConcurrentQueue<StoredMessage>();
        long nextId = 0;

        app.MapPost("/api/messages", (PostedMessage? posted) =>
        {
            if (posted?.Text is null || posted.Room is null || posted.Sender is null)
            {
                return Results.Json(new { error = "room, sender and text are required" }, statusCode: 400);
            }

            var stored = new StoredMessage(Interlocked.Increment(ref nextId), posted.Room, posted.Sender, posted.Text, posted.Direct ?? false);
            messages.Enqueue(stored);
            while (messages.Count > 1000 && messages.TryDequeue(out _))
            {
            }

            return Results.Json(stored, statusCode: 201);
        });
        app.MapGet("/api/messages", (string? room) =>
            Results.Json(messages.Where(m => room is null || m.Room == room).ToArray()));
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        return app;
    }
}
