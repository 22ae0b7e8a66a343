using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Configuration;
using Gateway.Hosting;
using Gateway.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Gateway.Tests.Operations;

/// <summary>
/// deploy/ cannot be run here (no Docker, no cluster): these tests check what can be checked. Every YAML and JSON
/// file parses; the Grafana dashboard queries exactly the metric names the gateway emits (after the Prometheus
/// translation); ports, hosts and paths agree between the gateway configs, the compose file, the collector,
/// Prometheus, Grafana, the Dockerfile and the Kubernetes manifests; the probes name endpoints that exist.
/// </summary>
public sealed partial class DeployFilesTests
{
    private static readonly string Deploy = Path.Combine(BrowserConsoleTests.RepositoryRoot(), "deploy");

    // ── Grafana dashboard ↔ instrumentation ─────────────────────────────────────────────────────────────────────

    /// <summary>The instruments the telemetry holder publishes, with the names Prometheus shows for them.</summary>
    internal static IReadOnlyDictionary<string, string> PrometheusNames()
    {
        using var telemetry = TelemetryTests.NewTelemetry();
        _ = new Gateway.Telemetry.RelayTelemetry(telemetry);
        var time = TimeProvider.System;
        _ = new Gateway.Inspection.ProtectionState(new Gateway.Policy.Protections.LocalCounterStore(time),
            new Gateway.Policy.Protections.SenderBlockList(time), new Gateway.Telemetry.RuleHits(time), telemetry);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (ReferenceEquals(instrument.Meter, telemetry.Meter))
            {
                names[PrometheusName(instrument)] = instrument.Name;
            }
        };
        listener.Start();
        return names;
    }

    /// <summary>
    /// The OpenTelemetry → Prometheus translation (collector prometheus exporter, add_metric_suffixes on): dots become
    /// underscores, the unit is added as a suffix (s → seconds, By → bytes; {annotations} are dropped), and
    /// monotonic counters end in _total.
    /// </summary>
    internal static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var unit = instrument.Unit switch
        {
            "s" => "seconds",
            "ms" => "milliseconds",
            "By" => "bytes",
            null or "" => "",
            { } u when u.StartsWith('{') => "",
            { } u => throw new InvalidOperationException($"no Prometheus suffix known for unit {u} of {instrument.Name}"),
        };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal))
        {
            name += "_" + unit;
        }

        var monotonic = instrument.GetType().Name.StartsWith("Counter", StringComparison.Ordinal)
            || instrument.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal);
        return monotonic ? name + "_total" : name;
    }

    private static IEnumerable<string> DashboardExpressions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "dashboards", "gateway.json")));
        var exprs = new List<string>();
        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        if (p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String)
                        {
                            exprs.Add(p.Value.GetString()!);
                        }
                        else
                        {
                            Walk(p.Value);
                        }
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var i in e.EnumerateArray())
                    {
                        Walk(i);
                    }

                    break;
            }
        }

        Walk(doc.RootElement);
        return exprs;
    }

    [GeneratedRegex(@"\bgateway_[a-z0-9_]+")]
    private static partial Regex GatewayIdentifier();

    [Fact]
    public void Dashboard_QueriesExactlyTheMetricNamesTheGatewayEmits()
    {
        var metrics = PrometheusNames();
        Assert.Equal(19, metrics.Count);
        var labels = typeof(GatewayTelemetry).GetFields().Concat(typeof(RelayTelemetry).GetFields())
            .Where(f => f.IsLiteral && f.Name.EndsWith("Tag", StringComparison.Ordinal))
            .Select(f => ((string)f.GetRawConstantValue()!).Replace('.', '_'))
            .ToHashSet(StringComparer.Ordinal);
        var exprs = DashboardExpressions().ToList();
        Assert.NotEmpty(exprs);

        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var expr in exprs)
        {
            foreach (Match m in GatewayIdentifier().Matches(expr))
            {
                var id = m.Value;
                if (labels.Contains(id))
                {
                    continue;
                }

                var metric = Regex.Replace(id, "_(bucket|sum|count)$", "");
                Assert.True(metrics.ContainsKey(id) || (metric != id && metrics.ContainsKey(metric) && metrics[metric] == GatewayTelemetry.EvaluationDuration),
                    $"the dashboard queries {id}, which the gateway does not emit (emitted: {string.Join(", ", metrics.Keys.Order())}; labels: {string.Join(", ", labels.Order())})");
                used.Add(metrics.ContainsKey(id) ? id : metric);
            }
        }

        var unused = metrics.Keys.Where(k => !used.Contains(k)).ToList();
        Assert.True(unused.Count == 0, "metrics with no dashboard panel: " + string.Join(", ", unused));
    }

    [Fact]
    public void Dashboard_UsesTheProvisionedDatasourceAndTheProvisionedFolder()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "dashboards", "gateway.json"))).RootElement;
        var datasource = Map(LoadYaml("grafana/provisioning/datasources/prometheus.yaml").Single());
        var uid = Str(Map(List(datasource["datasources"]).Single())["uid"]);
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            Assert.Equal(uid, panel.GetProperty("datasource").GetProperty("uid").GetString());
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal(uid, target.GetProperty("datasource").GetProperty("uid").GetString());
            }
        }

        var provider = Map(List(Map(LoadYaml("grafana/provisioning/dashboards/gateway.yaml").Single())["providers"]).Single());
        var path = Str(Map(provider["options"])["path"]);
        var grafana = Service("grafana");
        Assert.Contains(List(grafana["volumes"]).Select(Str), v => v == "./grafana/dashboards:" + path + ":ro");
        Assert.Contains(List(grafana["volumes"]).Select(Str), v => v == "./grafana/provisioning:/etc/grafana/provisioning:ro");
        Assert.Equal("http://prometheus:9090", Str(Map(List(datasource["datasources"]).Single())["url"]));
    }

    // ── compose, collector, Prometheus ──────────────────────────────────────────────────────────────────────────

    private static Dictionary<object, object?> Compose() => Map(LoadYaml("compose.yaml").Single());

    private static Dictionary<object, object?> Service(string name) => Map(Map(Compose()["services"])[name]);

    private static GatewayConfig LoadGatewayConfig(string text, string path)
    {
        // The deploy configs name the admin token's environment variable; any 16+ character value will do here.
        Environment.SetEnvironmentVariable("GATEWAY_ADMIN_TOKEN", "deploy-test-token-0123456789");
        // The scale-out configs (issue 15) name the cluster secret's and the Redis password's variables.
        Environment.SetEnvironmentVariable("GATEWAY_CLUSTER_SECRET", "deploy-test-cluster-secret-0123456789abcdef");
        Environment.SetEnvironmentVariable("GATEWAY_REDIS_PASSWORD", "deploy-test-redis-password");
        Environment.SetEnvironmentVariable("POD_IP", "10.1.2.3"); // Kubernetes' downward API: [cluster] internal_advertise_env
        var result = ConfigLoader.Load(text, path);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        return result.Config!;
    }

    [Fact]
    public void Compose_GatewayConfigPortsAndPathsAgree()
    {
        var config = LoadGatewayConfig(File.ReadAllText(Path.Combine(Deploy, "compose", "gateway.toml")), Path.Combine(Deploy, "compose", "gateway.toml"));
        var services = Map(Compose()["services"]);
        Assert.True(services.Keys.Select(k => (string)k).ToHashSet().SetEquals(["demochat", "gateway", "otel-collector", "prometheus", "grafana",
            "gateway-1", "gateway-2", "gateway-3", "redis", "haproxy"]));

        var gateway = Service("gateway");
        Assert.Equal("true", Str(gateway["read_only"]));
        Assert.Contains("/tmp", List(gateway["tmpfs"]).Select(Str));
        Assert.Contains("ALL", List(gateway["cap_drop"]).Select(Str));
        var build = Map(gateway["build"]);
        Assert.Equal("deploy/Dockerfile", Str(build["dockerfile"]));
        Assert.True(File.Exists(Path.Combine(Deploy, Str(build["context"]), Str(build["dockerfile"]))));
        Assert.Equal("gateway", Str(build["target"]));
        Assert.Equal("demochat", Str(Map(Service("demochat")["build"])["target"]));

        // Published ports: the proxy and admin listeners of the mounted config, on the host's loopback only.
        var ports = List(gateway["ports"]).Select(Str).ToList();
        var proxyPort = new Uri(config.Server.Listen.Single()).Port;
        var adminPort = new Uri(config.Admin.Listen).Port;
        Assert.Contains($"127.0.0.1:{proxyPort}:{proxyPort}", ports);
        Assert.Contains($"127.0.0.1:{adminPort}:{adminPort}", ports);
        Assert.All(List(Service("prometheus")["ports"]).Concat(List(Service("grafana")["ports"])).Select(Str), p => Assert.StartsWith("127.0.0.1:", p));
        Assert.DoesNotContain(List(Service("prometheus")["ports"]).Select(Str), p => p.StartsWith($"127.0.0.1:{adminPort}:", StringComparison.Ordinal));

        // Mounts: the config where the Dockerfile's CMD reads it, the overlay in the state volume.
        var volumes = List(gateway["volumes"]).Select(Str).ToList();
        Assert.Contains("./compose/gateway.toml:/etc/gateway/gateway.toml:ro", volumes);
        Assert.Contains(volumes, v => v.StartsWith("gateway-state:", StringComparison.Ordinal) && v.EndsWith(':' + Path.GetDirectoryName(config.Admin.OverlayFile)!, StringComparison.Ordinal));
        Assert.Contains("gateway-state", Map(Compose()["volumes"]).Keys.Select(k => (string)k));
        foreach (var service in services.Values.Select(Map))
        {
            foreach (var v in service.TryGetValue("volumes", out var vs) ? List(vs).Select(Str) : [])
            {
                var source = v.Split(':')[0];
                if (source.StartsWith("./", StringComparison.Ordinal))
                {
                    Assert.True(File.Exists(Path.Combine(Deploy, source)) || Directory.Exists(Path.Combine(Deploy, source)), $"compose mounts {source}, which does not exist");
                }
            }
        }

        // The token comes from the environment, never from the file.
        Assert.Equal("env:GATEWAY_ADMIN_TOKEN", config.Admin.TokenSource);
        Assert.StartsWith("${GATEWAY_ADMIN_TOKEN:?", Str(Map(gateway["environment"])["GATEWAY_ADMIN_TOKEN"]));

        // The backend is the demochat service on the port its CMD listens on.
        var upstream = new Uri(config.Backends.Single().Upstreams.Single());
        Assert.Equal("demochat", upstream.Host);
        Assert.Contains($"CMD [\"http://0.0.0.0:{upstream.Port}\"]", File.ReadAllText(Path.Combine(Deploy, "Dockerfile")));

        // Telemetry goes to the collector's OTLP/HTTP receiver.
        Assert.True(config.Telemetry.Enabled);
        Assert.Equal("http/protobuf", config.Telemetry.Protocol);
        Assert.Equal("otel-collector", config.Telemetry.Endpoint!.Host);
        var collector = Map(LoadYaml("otel-collector.yaml").Single());
        var http = Str(Map(Map(Map(Map(collector["receivers"])["otlp"])["protocols"])["http"])["endpoint"]);
        Assert.Equal(config.Telemetry.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), http.Split(':')[1]);
    }

    [Fact]
    public void Collector_PipelinesAreWired_AndPrometheusScrapesItsExporter()
    {
        var collector = Map(LoadYaml("otel-collector.yaml").Single());
        var receivers = Map(collector["receivers"]).Keys.Select(k => (string)k).ToHashSet();
        var processors = Map(collector["processors"]).Keys.Select(k => (string)k).ToHashSet();
        var exporters = Map(collector["exporters"]).Keys.Select(k => (string)k).ToHashSet();
        var pipelines = Map(Map(collector["service"])["pipelines"]);
        Assert.True(pipelines.Keys.Select(k => (string)k).ToHashSet().SetEquals(["metrics", "traces", "logs"]));
        foreach (var p in pipelines.Values.Select(Map))
        {
            Assert.All(List(p["receivers"]).Select(Str), r => Assert.Contains(r, receivers));
            Assert.All(List(p["processors"]).Select(Str), r => Assert.Contains(r, processors));
            Assert.All(List(p["exporters"]).Select(Str), r => Assert.Contains(r, exporters));
        }

        Assert.Contains("prometheus", List(Map(pipelines["metrics"])["exporters"]).Select(Str));
        var exporterPort = Str(Map(Map(collector["exporters"])["prometheus"])["endpoint"]).Split(':')[1];
        var prometheus = Map(LoadYaml("prometheus.yml").Single());
        var target = List(Map(List(Map(List(prometheus["scrape_configs"]).Single())["static_configs"]).Single())["targets"]).Select(Str).Single();
        Assert.Equal($"otel-collector:{exporterPort}", target);
        Assert.Contains("otel-collector", Map(Compose()["services"]).Keys.Select(k => (string)k));
        Assert.Contains("./otel-collector.yaml:" + Str(List(Service("otel-collector")["command"]).Single()).Split('=')[1] + ":ro",
            List(Service("otel-collector")["volumes"]).Select(Str));
        Assert.Contains("./prometheus.yml:/etc/prometheus/prometheus.yml:ro", List(Service("prometheus")["volumes"]).Select(Str));
    }

    // ── Kubernetes ──────────────────────────────────────────────────────────────────────────────────────────────

    private static Dictionary<string, Dictionary<object, object?>> Manifests()
    {
        var kustomization = Map(LoadYaml("kubernetes/kustomization.yaml").Single());
        var byKind = new Dictionary<string, Dictionary<object, object?>>(StringComparer.Ordinal);
        foreach (var file in List(kustomization["resources"]).Select(Str))
        {
            if (Directory.Exists(Path.Combine(Deploy, "kubernetes", file)))
            {
                continue; // a base of its own (redis/): checked by its own test
            }

            foreach (var doc in LoadYaml("kubernetes/" + file))
            {
                var m = Map(doc);
                byKind[Str(m["kind"])] = m;
            }
        }

        return byKind;
    }

    private static Dictionary<object, object?> Container(Dictionary<string, Dictionary<object, object?>> manifests) =>
        Map(List(Map(Map(Map(manifests["Deployment"]["spec"])["template"])["spec"])["containers"]).Single());

    private static GatewayConfig KubernetesConfig(Dictionary<string, Dictionary<object, object?>> manifests)
    {
        var toml = Str(Map(manifests["ConfigMap"]["data"])["gateway.toml"]);
        return LoadGatewayConfig(toml, "/etc/gateway/gateway.toml");
    }

    [Fact]
    public void Kubernetes_ManifestsAgreeWithEachOtherAndTheConfig()
    {
        var manifests = Manifests();
        Assert.True(manifests.Keys.ToHashSet().SetEquals(["ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]));
        var config = KubernetesConfig(manifests);
        var deployment = manifests["Deployment"];
        var spec = Map(deployment["spec"]);
        var podSpec = Map(Map(spec["template"])["spec"]);
        var labels = Map(Map(Map(spec["template"])["metadata"])["labels"]);
        Assert.Equal(Map(Map(spec["selector"])["matchLabels"]), labels);
        Assert.Equal(labels, Map(Map(manifests["Service"]["spec"])["selector"]));
        Assert.Equal(labels, Map(Map(Map(manifests["PodDisruptionBudget"]["spec"])["selector"])["matchLabels"]));
        Assert.True(int.Parse(Str(spec["replicas"]), System.Globalization.CultureInfo.InvariantCulture)
            > int.Parse(Str(Map(manifests["PodDisruptionBudget"]["spec"])["minAvailable"]), System.Globalization.CultureInfo.InvariantCulture));

        var container = Container(manifests);
        Assert.Equal(new[] { "serve", "--config", "/etc/gateway/gateway.toml" }, List(container["args"]).Select(Str));
        var port = Map(List(container["ports"]).Select(Map).Single(p => Str(p["name"]) == "http"));
        Assert.Equal(new Uri(config.Server.Listen.Single()).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Str(port["containerPort"]));
        Assert.Equal(Str(port["name"]), Str(Map(List(Map(manifests["Service"]["spec"])["ports"]).Single())["targetPort"]));

        // Hardening: non-root, read-only root filesystem, no capabilities; writable mounts only where the gateway writes.
        var security = Map(container["securityContext"]);
        Assert.Equal("true", Str(security["readOnlyRootFilesystem"]));
        Assert.Equal("false", Str(security["allowPrivilegeEscalation"]));
        Assert.Equal(new[] { "ALL" }, List(Map(security["capabilities"])["drop"]).Select(Str));
        Assert.Equal("true", Str(Map(podSpec["securityContext"])["runAsNonRoot"]));
        var mounts = List(container["volumeMounts"]).Select(Map).ToDictionary(m => Str(m["mountPath"]), m => m);
        Assert.Equal("true", Str(mounts["/etc/gateway"]["readOnly"]));
        Assert.True(mounts.ContainsKey(Path.GetDirectoryName(config.Admin.OverlayFile)!), "the admin overlay's directory is not a mounted volume");
        Assert.True(mounts.ContainsKey("/tmp"));
        var volumes = List(podSpec["volumes"]).Select(Map).ToDictionary(v => Str(v["name"]), v => v);
        Assert.Equal("gateway-config", Str(Map(volumes[Str(mounts["/etc/gateway"]["name"])]["configMap"])["name"]));
        Assert.Equal("gateway-config", Str(Map(manifests["ConfigMap"]["metadata"])["name"]));

        // The admin token from a Secret through the variable the config names.
        Assert.Equal("env:GATEWAY_ADMIN_TOKEN", config.Admin.TokenSource);
        var env = List(container["env"]).Select(Map).Single(e => Str(e["name"]) == "GATEWAY_ADMIN_TOKEN");
        Assert.Equal("token", Str(Map(Map(env["valueFrom"])["secretKeyRef"])["key"]));
    }

    [Fact]
    public async Task Kubernetes_ProbesNameEndpointsTheGatewayServes()
    {
        var manifests = Manifests();
        var config = KubernetesConfig(manifests);
        var container = Container(manifests);
        var portName = Str(List(container["ports"]).Select(Map).Single(p => Str(p["name"]) == "http")["name"]);
        var probes = new[] { "startupProbe", "readinessProbe", "livenessProbe" }.Select(p => Map(Map(container[p])["httpGet"])).ToList();
        Assert.All(probes, p => Assert.Equal(portName, Str(p["port"])));

        // The same config, on loopback port 0, without exporting telemetry anywhere.
        var local = config with
        {
            Server = config.Server with { Listen = new[] { "http://127.0.0.1:0" }, WatchConfig = false },
            Admin = config.Admin with { Listen = "http://127.0.0.1:0", OverlayFile = Path.Combine(Path.GetTempPath(), "gateway-k8s-" + Guid.NewGuid().ToString("N"), "overlay.json") },
            Telemetry = new TelemetrySettings(),
        };
        var app = GatewayApp.Build(local, b => b.Logging.ClearProviders());
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
            foreach (var probe in probes)
            {
                var response = await client.GetAsync(Str(probe["path"]));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains("\"status\":\"ok\"", await response.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    // ── Dockerfile and systemd ──────────────────────────────────────────────────────────────────────────────────

    [Fact]
    public void Dockerfile_MultiStageNonRootWithIcu_AndCopiesOnlyWhatExists()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.True(froms.Count >= 3, "expected build, runtime and gateway stages");
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:10.0 ", froms[0]);
        // Debian-based runtime (has libicu); not a chiseled/alpine image without ICU.
        Assert.Contains(froms, f => f.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime", StringComparison.Ordinal));
        Assert.DoesNotContain(froms, f => f.Contains("chiseled", StringComparison.Ordinal) || f.Contains("alpine", StringComparison.Ordinal));
        Assert.Contains("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=false", text);
        Assert.Equal("FROM runtime AS gateway", froms[^1]); // the default target

        var lastStage = lines.Skip(lines.IndexOf(froms[^1])).ToList();
        Assert.Contains("USER $APP_UID", lastStage);
        Assert.DoesNotContain(lines, l => l is "USER root" or "USER 0");
        Assert.Contains(lastStage, l => l.StartsWith("EXPOSE ", StringComparison.Ordinal) && l.Contains("8080") && l.Contains("9090"));
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/gateway.dll\"]", lastStage);
        Assert.Contains("CMD [\"serve\", \"--config\", \"/etc/gateway/gateway.toml\"]", lastStage);

        var root = BrowserConsoleTests.RepositoryRoot();
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1];
            foreach (var source in parts)
            {
                Assert.True(File.Exists(Path.Combine(root, source)) || Directory.Exists(Path.Combine(root, source)), $"the Dockerfile copies {source}, which does not exist");
            }
        }

        // Every project the gateway references is restored from a copied .csproj.
        foreach (var project in new[] { "Gateway.Policy", "Gateway.Protocols", "Gateway", "Gateway.DemoChat" })
        {
            Assert.Contains($"COPY src/{project}/{project}.csproj src/{project}/", lines);
        }
    }

    [Fact]
    public void SystemdUnit_ReloadsWithSighup_IsHardened_AndHasAWritableStateDirectory()
    {
        var path = Path.Combine(Deploy, "gateway.service");
        var keys = File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith('[') && l.Contains('=', StringComparison.Ordinal))
            .GroupBy(l => l[..l.IndexOf('=', StringComparison.Ordinal)], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]).ToList(), StringComparer.Ordinal);
        Assert.Equal("/bin/kill -HUP $MAINPID", keys["ExecReload"].Single());
        Assert.Contains("serve --config /etc/gateway/gateway.toml", keys["ExecStart"].Single());
        Assert.Equal("gateway", keys["StateDirectory"].Single());
        Assert.Contains("DOTNET_EnableDiagnostics=0", keys["Environment"]);
        Assert.Contains("DOTNET_DbgEnableMiniDump=0", keys["Environment"]);
        foreach (var (key, value) in new[]
        {
            ("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"), ("ProtectKernelModules", "yes"), ("ProtectControlGroups", "yes"),
            ("RestrictNamespaces", "yes"), ("LockPersonality", "yes"), ("CapabilityBoundingSet", ""), ("SystemCallArchitectures", "native"),
            // The JIT writes code: W^X would kill the process.
            ("MemoryDenyWriteExecute", "no"),
            // DM context: no core files, no swap (issue 17 #3).
            ("LimitCORE", "0"), ("MemorySwapMax", "0"),
        })
        {
            Assert.True(keys.TryGetValue(key, out var v) && v.Single() == value, $"{key}={value} expected");
        }

        // Where systemd is installed (Debian images), let it check the unit too: unknown keys and bad values.
        if (File.Exists("/usr/bin/systemd-analyze"))
        {
            var start = new ProcessStartInfo("/usr/bin/systemd-analyze") { RedirectStandardError = true, RedirectStandardOutput = true };
            start.ArgumentList.Add("verify");
            start.ArgumentList.Add(path);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEnd();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var problems = stderr.Split('\n').Where(l => l.Contains("gateway.service", StringComparison.Ordinal)).ToList();
            Assert.True(process.ExitCode == 0 && problems.Count == 0, "systemd-analyze verify: " + stderr);
        }
    }

    // ── YAML helpers (YamlDotNet into plain dictionaries, lists and strings) ────────────────────────────────────

    private static List<object?> LoadYaml(string relative)
    {
        var text = File.ReadAllText(Path.Combine(Deploy, relative));
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var docs = new List<object?>();
        while (parser.Accept<DocumentStart>(out _))
        {
            docs.Add(deserializer.Deserialize<object?>(parser));
        }

        Assert.NotEmpty(docs);
        return docs;
    }

    private static Dictionary<object, object?> Map(object? o) => Assert.IsType<Dictionary<object, object?>>(o);

    private static List<object?> List(object? o) => Assert.IsType<List<object?>>(o);

    private static string Str(object? o) => Assert.IsType<string>(o);

    [Fact]
    public void EveryYamlAndJsonFileUnderDeploy_Parses()
    {
        var files = Directory.EnumerateFiles(Deploy, "*", SearchOption.AllDirectories).ToList();
        var yaml = files.Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)).ToList();
        var json = files.Where(f => f.EndsWith(".json", StringComparison.Ordinal)).ToList();
        Assert.True(yaml.Count >= 9, "expected the compose, collector, Prometheus, Grafana and Kubernetes YAML files");
        foreach (var f in yaml)
        {
            Assert.NotEmpty(LoadYaml(Path.GetRelativePath(Deploy, f)));
        }

        foreach (var f in json)
        {
            using var _ = JsonDocument.Parse(File.ReadAllText(f));
        }
    }
}
