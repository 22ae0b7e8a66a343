using System.Security.Cryptography;
using Gateway.Reporting;
using Gateway.Runtime;
using Gateway.Transports;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Gateway.Cluster;

/// <summary>
/// The internal listener ([cluster] internal_listen): one route, <c>POST /_cluster/v1/push</c>, taking sealed DM pair
/// appends from the other instances (<see cref="PeerSeal"/>) and applying them here, where the pair's context is kept.
/// Every answer is a bare status with no body: 204 applied; 400 not an envelope or not a batch; 401 stale or not
/// sealed with the cluster secret for this instance; 409 replayed; 413 too large; 404/405 anything else. There is no
/// read path: nothing here ever returns context, text or ids.
/// </summary>
internal sealed class PeerServer(PairOwners owners, ClusterSync sync, ReportingPipeline pipeline, GatewayState state, TimeProvider time,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    private WebApplication? _app;

    public IReadOnlyList<string> Addresses { get; private set; } = Array.Empty<string>();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = state.Current.Config.Cluster;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = WebHostArgs.Args, // no recursive appsettings watcher over the working directory
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.ConfigureKestrel(k =>
        {
            Listeners.Bind(k, new[] { settings.InternalListen! }, () => null);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, NoSignalLifetime>();

        var app = builder.Build();
        var logger = loggerFactory.CreateLogger("Gateway.Cluster.Peer");
        app.MapPost(PairOwners.PushPath, (HttpContext context) => PushAsync(context, logger));
        app.MapFallback((HttpContext context) =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        await app.StartAsync(cancellationToken);
        _app = app;
        Addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? Array.Empty<string>();
        var bound = new Uri(Addresses[0]);
        var advertised = settings.InternalAdvertise is { } a
            ? (new Uri("http://" + a).IsDefaultPort && !a.EndsWith(":80", StringComparison.Ordinal) ? a + ":" + bound.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : a)
            : Advertised(new Uri(settings.InternalListen!), bound.Port);
        sync.PeerAddress = advertised;
        Log.PeerListening(logger, string.Join(", ", Addresses), advertised);
    }

    /// <summary>The listen host with the bound port; a wildcard host is replaced by this machine's name (the pod name on Kubernetes).</summary>
    private static string Advertised(Uri listen, int port)
    {
        var host = listen.Host is "0.0.0.0" or "[::]" or "*" or "+" ? Environment.MachineName : listen.Host;
        return host + ":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task PushAsync(HttpContext context, ILogger logger)
    {
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex)
        {
            Refuse(context, logger, "unreadable", ex.StatusCode);
            return;
        }

        var result = owners.Seal.Open(body, owners.Instance, time.GetUtcNow(), out _, out var plain);
        CryptographicOperations.ZeroMemory(body);
        try
        {
            var status = result switch
            {
                PeerOpenResult.Ok => StatusCodes.Status204NoContent,
                PeerOpenResult.Malformed => StatusCodes.Status400BadRequest,
                PeerOpenResult.Replayed => StatusCodes.Status409Conflict,
                PeerOpenResult.Busy => StatusCodes.Status429TooManyRequests,
                _ => StatusCodes.Status401Unauthorized,
            };
            if (status != StatusCodes.Status204NoContent)
            {
                Refuse(context, logger, result.ToString(), status);
                return;
            }

            if (!PairCodec.TryDecode(plain, out var batch))
            {
                Refuse(context, logger, "not a batch", StatusCodes.Status400BadRequest);
                return;
            }

            foreach (var append in batch)
            {
                pipeline.Apply(append);
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    private static void Refuse(HttpContext context, ILogger logger, string why, int status)
    {
        Log.PeerPushRefused(logger, why, status);
        context.Response.StatusCode = status;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }
    }
}
