using Yarp.ReverseProxy.Configuration;

// Bare YARP, the load tests' reference proxy: one catch-all route to one upstream, configured in memory, with the
// same host settings as the gateway (slim builder, no Server header, warnings-only logging) and nothing else.
//   bare-yarp http://127.0.0.1:LISTEN http://127.0.0.1:UPSTREAM
var listen = args.Length > 0 ? args[0] : "http://127.0.0.1:9001";
var upstream = args.Length > 1 ? args[1] : "http://127.0.0.1:9000";
var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseUrls(listen);
builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("Yarp", LogLevel.Warning);
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "backend", Match = new RouteMatch { Path = "/{**catch-all}" } }],
    [new ClusterConfig { ClusterId = "backend", Destinations = new Dictionary<string, DestinationConfig> { ["b"] = new() { Address = upstream } } }]);
var app = builder.Build();
app.MapReverseProxy();
app.Run();
