using Gateway.Protocols.Json;
using Gateway.Protocols.Abstractions;
using Gateway.Configuration;

namespace Gateway.Tests.WebSocket;

public sealed class FrameRouteConfigTests
{
    private static ConfigLoadResult Load(string route, string protocol = "json")
    {
        var dir = Path.Combine(Path.GetTempPath(), "gw-ws-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "gateway.toml");
        File.WriteAllText(path, $$"""
            [[backends]]
            name = "chat"
            protocol = "{{protocol}}"
            upstreams = ["http://127.0.0.1:1"]

              [[backends.routes]]
            {{route}}
            """);
        try
        {
            return ConfigLoader.LoadFile(path);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WebSocketRoute_AllKeys_Read()
    {
        var result = Load("""
            path = "/ws"
            transport = "websocket"
              [backends.routes.json]
              body = "/text"
              match = { "/type" = "message", "/v" = "2" }
              notice_key = "msg"
              drop_frame = ""
              reject_frame = '{"t":"no"}'
            """);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var route = result.Config!.Backends[0].Routes[0];
        Assert.Equal(Transport.WebSocket, route.Transport);
        var frames = ((JsonRouteOptions)route.Module!).Frames!;
        Assert.Equal(2, frames.Match.Count);
        Assert.Equal(("msg", (string?)null, "{\"t\":\"no\"}"), (frames.NoticeKey, frames.DropFrame, frames.RejectFrame));
        Assert.Equal(1024 * 1024, result.Config.Limits.MaxFrameBytes);
    }

    [Theory]
    [InlineData("path = \"/ws\"\ntransport = \"websocket\"\ninspect = false", "none", "transport")]
    [InlineData("path = \"/ws\"\ntransport = \"sse\"\n[backends.routes.json]\nbody = \"/t\"", "json", "transport")]
    [InlineData("path = \"/ws\"\n[backends.routes.json]\nbody = \"/t\"\nmatch = { \"/type\" = \"m\" }", "json", "json.match")]
    [InlineData("path = \"/ws\"\ntransport = \"websocket\"\n[backends.routes.json]\nbody = \"/t\"\nmatch = { \"type\" = \"m\" }", "json", "json.match")]
    [InlineData("path = \"/ws\"\ntransport = \"websocket\"\n[backends.routes.json]\nbody = \"/t\"\nmatch = { \"/type\" = 1 }", "json", "json.match")]
    [InlineData("path = \"/ws\"\ntransport = \"websocket\"\n[backends.routes.json]\nbody = \"/t\"\nreject_frame = \"[]\"", "json", "json.reject_frame")]
    public void WebSocketRoute_BadKeys_NamedInErrors(string route, string protocol, string key)
    {
        var result = Load(route, protocol);
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.KeyPath.EndsWith(key, StringComparison.Ordinal));
    }
}
