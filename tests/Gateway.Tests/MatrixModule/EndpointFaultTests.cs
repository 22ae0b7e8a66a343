using System.Text;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Configuration;
using Gateway.Protocols.Matrix;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Tests.MatrixModule;

/// <summary>
/// The module's own endpoints (policy server, antispam) when the engine throws something nobody expected: a Matrix
/// error the homeserver can act on, never ASP.NET's bare 500. A 30-minute soak saw one bare 500 from /sign,
/// and a 12-minute one a 400 M_BAD_JSON for a valid event: a fault while judging, taken for unreadable content.
/// </summary>
public sealed class EndpointFaultTests
{
    private const string Event = """{"type":"m.room.message","sender":"@a:hs.test","room_id":"!r:hs.test","content":{"body":"hello"}}""";

    public static TheoryData<Exception> Faults => new() { new ArgumentOutOfRangeException("i"), new IndexOutOfRangeException(), new NullReferenceException(), new NotSupportedException(), new TaskCanceledException(),
        // The types a content read also throws: a fault while judging must not pass for unreadable content (400 M_BAD_JSON).
        new InvalidOperationException(), new ObjectDisposedException("store"), new KeyNotFoundException(), new FormatException(), new System.Text.Json.JsonException() };

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task PolicyServer_EngineFault_Answers503MUnknown_AndSignsNothing(Exception fault)
    {
        var host = new FakeModuleHost(new MatrixSettings { PolicyServer = new PolicyServerSettings { ServerName = "policy.test", Seed = new Secret(new byte[32]) } }) { EvaluateThrows = fault };
        var result = await PolicyServerEndpoints.SignAsync(Context(Event), host, NullLogger.Instance, effective: null);

        var status = Assert.IsAssignableFrom<IStatusCodeHttpResult>(result);
        Assert.Equal(503, status.StatusCode);
        var body = ((IValueHttpResult)result).Value?.ToString() ?? "";
        Assert.Contains("M_UNKNOWN", body, StringComparison.Ordinal);
        Assert.DoesNotContain("ed25519", body, StringComparison.Ordinal);
        Assert.Single(host.Evaluated);

        // The same host without the fault signs: the 503 came from the fault.
        host.EvaluateThrows = null;
        var signed = await PolicyServerEndpoints.SignAsync(Context(Event), host, NullLogger.Instance, effective: null);
        Assert.Equal(200, Assert.IsAssignableFrom<IStatusCodeHttpResult>(signed).StatusCode ?? 200);
        Assert.Contains("ed25519:policy_server", ((IValueHttpResult)signed).Value?.ToString() ?? "", StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Antispam_EngineFault_FollowsTheCallbacksFailChoice(Exception fault)
    {
        var token = "antispam-token-1234";
        var antispam = new AntispamSettings { Enabled = true, Token = new Secret(Encoding.UTF8.GetBytes(token)) };
        var host = new FakeModuleHost(new MatrixSettings { Antispam = antispam }) { EvaluateThrows = fault };
        var body = "{\"event\":" + Event + "}";

        var closed = await AntispamEndpoints.HandleAsync("check_event_for_spam", Context(body, token), host, NullLogger.Instance);
        Assert.Equal(500, Assert.IsAssignableFrom<IStatusCodeHttpResult>(closed).StatusCode);
        Assert.Contains("M_UNKNOWN", ((IValueHttpResult)closed).Value?.ToString() ?? "", StringComparison.Ordinal);

        host.Matrix = new MatrixSettings { Antispam = antispam with { FailOpen = new HashSet<string> { "check_event_for_spam" } } };
        var open = await AntispamEndpoints.HandleAsync("check_event_for_spam", Context(body, token), host, NullLogger.Instance);
        Assert.Equal(200, Assert.IsAssignableFrom<IStatusCodeHttpResult>(open).StatusCode ?? 200);
    }

    private static DefaultHttpContext Context(string body, string? token = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = "application/json";
        if (token is not null)
        {
            context.Request.Headers.Authorization = "Bearer " + token;
        }

        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        return context;
    }
}
