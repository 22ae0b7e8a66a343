using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.MatrixAdapter;

/// <summary>
/// When the homeserver cannot say who a token is (down, restarting, answering 5xx), the message is not forwarded
/// uninspected as if the token were unknown: the soak (loadtests/Soak) delivered a filtered word to a homeserver that
/// refused whoami during a restart and took the send a moment later. Only a definitive 401/403 from whoami lets the
/// request pass (the homeserver then refuses it itself); anything else follows the route's <c>on_error</c>.
/// </summary>
public sealed class MatrixWhoAmIFailureTests
{
    private static string Config(string url, string onError = "") => $$"""
        [[backends]]
        name = "synapse"
        protocol = "matrix"
        upstreams = ["{{url}}"]
          [[backends.routes]]
          path = "/_matrix"
          {{onError}}

        [[filters]]
        name = "profanity"
        keywords = ["darn"]
        """;

    /// <summary>A homeserver whose whoami answers <paramref name="whoamiStatus"/> and which takes every send.</summary>
    private static async Task<RecordingBackend> HomeserverAsync(int whoamiStatus)
    {
        var hs = await RecordingBackend.StartAsync();
        hs.Responder = async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            if (context.Request.Path.Value!.EndsWith("/account/whoami", StringComparison.Ordinal))
            {
                context.Response.StatusCode = whoamiStatus;
                await context.Response.WriteAsync(whoamiStatus == 401
                    ? """{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid access token passed."}"""
                    : """{"errcode":"M_UNKNOWN","error":"Internal server error"}""");
                return;
            }

            await context.Response.WriteAsync("""{"event_id":"$ok"}""");
        };
        return hs;
    }

    private static HttpRequestMessage Send(string text)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, "/_matrix/client/v3/rooms/%21r%3Ahs.test/send/m.room.message/t1")
        {
            Content = new StringContent($$"""{"msgtype":"m.text","body":"{{text}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "syt_token");
        return request;
    }

    private static int Sends(RecordingBackend hs) => hs.Received.Count(r => r.Method == "PUT");

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task WhoAmIFails_FilteredMessage_IsNotForwarded_503(int whoamiStatus)
    {
        await using var hs = await HomeserverAsync(whoamiStatus);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));

        using var response = await gw.Client.SendAsync(Send("well darn it"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(0, Sends(hs));
    }

    [Fact]
    public async Task WhoAmIUnreachable_IsNotForwarded_503()
    {
        await using var gw = await GatewayHost.StartAsync(Config("http://127.0.0.1:9")); // discard port: nothing listens

        using var response = await gw.Client.SendAsync(Send("well darn it"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
    }

    [Fact]
    public async Task WhoAmIFails_OnErrorForward_ForwardsAsTheOperatorChose()
    {
        await using var hs = await HomeserverAsync(502);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url, "on_error = \"forward\""));

        using var response = await gw.Client.SendAsync(Send("well darn it"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, Sends(hs));
    }

    [Fact]
    public async Task WhoAmI401_UnknownToken_IsForwarded_TheHomeserverRefusesItItself()
    {
        await using var hs = await HomeserverAsync(401);
        await using var gw = await GatewayHost.StartAsync(Config(hs.Url));

        using var response = await gw.Client.SendAsync(Send("well darn it"));

        Assert.Equal(1, Sends(hs)); // this fake takes it; Synapse would answer 401 M_UNKNOWN_TOKEN to the same token
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
