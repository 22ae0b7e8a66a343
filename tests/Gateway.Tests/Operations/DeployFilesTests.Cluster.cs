using System.Diagnostics;
using Gateway.Tests.Cluster;

namespace Gateway.Tests.Operations;

/// <summary>
/// The scale-out deploy files (issue 15): the compose cluster profile, deploy/haproxy.cfg (checked by the real
/// HAProxy), the nginx equivalent, and the Kubernetes Redis base and HorizontalPodAutoscaler agree with the configs.
/// </summary>
public sealed partial class DeployFilesTests
{
    [Fact]
    public void ComposeClusterProfile_ThreeInstancesOneRedisHaproxy_Agree()
    {
        var path = Path.Combine(Deploy, "compose", "gateway-cluster.toml");
        var config = LoadGatewayConfig(File.ReadAllText(path), path);
        Assert.True(config.Cluster.Enabled);
        Assert.Equal("redis", config.Cluster.Host);
        Assert.Equal("http://0.0.0.0:7600", config.Cluster.InternalListen); // DM pair owners, advertised as the hostname
        var haproxy = File.ReadAllText(Path.Combine(Deploy, "haproxy.cfg"));
        var hostnames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in new[] { "gateway-1", "gateway-2", "gateway-3" })
        {
            var service = Service(name);
            Assert.Equal("cluster", Str(List(service["profiles"]).Single()));
            Assert.Contains("./compose/gateway-cluster.toml:/etc/gateway/gateway.toml:ro", List(service["volumes"]).Select(Str));
            Assert.StartsWith("${GATEWAY_CLUSTER_SECRET:?", Str(Map(service["environment"])["GATEWAY_CLUSTER_SECRET"]));
            Assert.True(hostnames.Add(Str(service["hostname"])), "two instances share a hostname (the default instance name)");
            Assert.Contains($"server {name} {name}:{new Uri(config.Server.Listen.Single()).Port}", haproxy, StringComparison.Ordinal);
        }

        Assert.Equal("cluster", Str(List(Service("redis")["profiles"]).Single()));
        Assert.Contains("./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro", List(Service("haproxy")["volumes"]).Select(Str));
        Assert.All(List(Service("haproxy")["ports"]).Select(Str), p => Assert.StartsWith("127.0.0.1:", p));
        Assert.Equal("env:GATEWAY_ADMIN_TOKEN", config.Admin.TokenSource);
    }

    [Fact]
    public async Task Haproxy_ConfigIsValid_HashesConsistently_OnTheConversationKey()
    {
        var cfg = File.ReadAllText(Path.Combine(Deploy, "haproxy.cfg"));
        Assert.Contains("hash-type consistent", cfg, StringComparison.Ordinal);
        Assert.Contains("balance hash var(txn.conv)", cfg, StringComparison.Ordinal);
        Assert.Contains("/rooms/", cfg, StringComparison.Ordinal); // Matrix: the room id from the path
        Assert.Contains("retry-on conn-failure", cfg, StringComparison.Ordinal);
        Assert.Contains("option httpchk GET /_gateway/health", cfg, StringComparison.Ordinal);
        var psi = new ProcessStartInfo(RedisProcess.Find("haproxy"), ["-c", "-f", Path.Combine(Deploy, "haproxy.cfg")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, stdout + await stderr);

        var nginx = File.ReadAllText(Path.Combine(Deploy, "nginx-cluster.conf"));
        Assert.Contains("hash $gateway_conv consistent;", nginx, StringComparison.Ordinal);
        Assert.Contains("/rooms/", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_next_upstream error;", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public void Kubernetes_RedisBaseAndAutoscaler_AgreeWithTheConfig()
    {
        var manifests = Manifests();
        var config = KubernetesConfig(manifests);
        Assert.True(config.Cluster.Enabled);
        Assert.Equal("env:GATEWAY_ADMIN_TOKEN", config.Admin.TokenSource);

        var hpa = Map(manifests["HorizontalPodAutoscaler"]["spec"]);
        var target = Map(hpa["scaleTargetRef"]);
        Assert.Equal("Deployment", Str(target["kind"]));
        Assert.Equal(Str(Map(manifests["Deployment"]["metadata"])["name"]), Str(target["name"]));
        Assert.True(int.Parse(Str(hpa["minReplicas"]), System.Globalization.CultureInfo.InvariantCulture)
            > int.Parse(Str(Map(manifests["PodDisruptionBudget"]["spec"])["minAvailable"]), System.Globalization.CultureInfo.InvariantCulture));

        Assert.Contains("redis", List(Map(LoadYaml("kubernetes/kustomization.yaml").Single())["resources"]).Select(Str));
        var redis = Map(LoadYaml("kubernetes/redis/kustomization.yaml").Single());
        var docs = List(redis["resources"]).Select(Str).SelectMany(f => LoadYaml("kubernetes/redis/" + f)).Select(Map).ToList();
        var service = docs.Single(d => Str(d["kind"]) == "Service");
        Assert.Equal(config.Cluster.Host, Str(Map(service["metadata"])["name"]));
        Assert.Equal(config.Cluster.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), Str(Map(List(Map(service["spec"])["ports"]).Single())["port"]));

        // The secrets the config names come from Secrets, never from the ConfigMap.
        var env = List(Container(manifests)["env"]).Select(Map).ToDictionary(e => Str(e["name"]), e => e);
        Assert.Equal("gateway-cluster", Str(Map(Map(env["GATEWAY_CLUSTER_SECRET"]["valueFrom"])["secretKeyRef"])["name"]));
        Assert.Equal("gateway-redis", Str(Map(Map(env["GATEWAY_REDIS_PASSWORD"]["valueFrom"])["secretKeyRef"])["name"]));

        // DM pair owners: the internal listener's port is declared, and each pod advertises its own IP.
        Assert.Equal(new Uri(config.Cluster.InternalListen!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Str(List(Container(manifests)["ports"]).Select(Map).Single(p => Str(p["name"]) == "cluster")["containerPort"]));
        Assert.Equal("status.podIP", Str(Map(Map(env["POD_IP"]["valueFrom"])["fieldRef"])["fieldPath"]));
        Assert.Equal("10.1.2.3", config.Cluster.InternalAdvertise);
    }
}
