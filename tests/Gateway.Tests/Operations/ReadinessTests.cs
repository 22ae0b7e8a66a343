using System.Net;
using System.Text.Json.Nodes;
using Gateway.Admin;
using Gateway.Runtime;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gateway.Tests.Operations;

/// <summary>
/// /readyz says ready only while the proxy listener takes connections. The soak (loadtests/Soak) found it answering
/// 200 for ~0.3 s after a restart while the proxy port still refused connections: the admin listener is a hosted
/// service that starts before the proxy's Kestrel binds.
/// </summary>
public sealed class ReadinessTests
{
    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Started { get; } = new();

        public CancellationTokenSource Stopping { get; } = new();

        public CancellationToken ApplicationStarted => Started.Token;

        public CancellationToken ApplicationStopping => Stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => Stopping.Cancel();
    }

    private static async Task<(int Status, string State)> ProbeAsync(GatewayState state, ProxyReadiness readiness)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await AdminEndpoints.Readyz(state, readiness).ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var body = JsonNode.Parse(context.Response.Body)!;
        return (context.Response.StatusCode, (string)body["status"]!);
    }

    [Fact]
    public async Task Readyz_BeforeTheProxyStarted_Is503Starting_ThenReady_Then503Stopping()
    {
        var backend = await RecordingBackend.StartAsync();
        await using var _ = backend;
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url) + OpsGateway.AdminTable());
        var state = gw.Services.GetRequiredService<GatewayState>();
        var lifetime = new FakeLifetime();
        var readiness = new ProxyReadiness(lifetime);

        Assert.Equal((503, "starting"), await ProbeAsync(state, readiness));
        lifetime.Started.Cancel();
        Assert.Equal((200, "ready"), await ProbeAsync(state, readiness));
        lifetime.StopApplication();
        Assert.Equal((503, "stopping"), await ProbeAsync(state, readiness));
    }

    [Fact]
    public async Task Readyz_OnceTheGatewayRuns_IsReadyAndTheProxyPortAnswers()
    {
        var backend = await RecordingBackend.StartAsync();
        await using var _ = backend;
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url) + OpsGateway.AdminTable());
        using var anonymous = new HttpClient { BaseAddress = new Uri(gw.AdminUrl!) };

        var ready = await anonymous.GetAsync("/readyz");
        using var proxied = await gw.Client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready", (string)JsonNode.Parse(await ready.Content.ReadAsStringAsync())!["status"]!);
        Assert.NotEqual(HttpStatusCode.ServiceUnavailable, proxied.StatusCode);
    }
}
