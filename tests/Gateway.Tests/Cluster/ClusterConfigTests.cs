using Gateway.Configuration;

namespace Gateway.Tests.Cluster;

/// <summary>[cluster]: the Redis URL (TLS included), secrets only from the environment or files, the fallback and the budget.</summary>
public sealed class ClusterConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gw-cluster-cfg-").FullName;

    public ClusterConfigTests()
    {
        File.WriteAllText(Path.Combine(_dir, "secret"), new string('k', 40) + "\n");
        File.WriteAllText(Path.Combine(_dir, "redis-password"), "hunter2-redis\n");
    }

    private ConfigLoadResult Load(string cluster)
    {
        var path = Path.Combine(_dir, "gateway.toml");
        File.WriteAllText(path, "[cluster]\n" + cluster);
        return ConfigLoader.LoadFile(path);
    }

    [Fact]
    public void Absent_IsASingleInstance()
    {
        var path = Path.Combine(_dir, "gateway.toml");
        File.WriteAllText(path, "");
        var result = ConfigLoader.LoadFile(path);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.False(result.Config!.Cluster.Enabled);
    }

    [Fact]
    public void Rediss_WithUserPasswordFileAndDefaults_IsReadWithTlsAndLocalFallback()
    {
        var result = Load("""
            redis = "rediss://gateway@redis.internal:6380/2"
            password_file = "redis-password"
            secret_file = "secret"
            instance = "gw-1"
            """);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var c = result.Config!.Cluster;
        Assert.True(c.Enabled);
        Assert.True(c.Tls);
        Assert.Equal(("redis.internal", 6380, 2, "gateway"), (c.Host, c.Port, c.Database, c.User));
        Assert.Equal("hunter2-redis", System.Text.Encoding.UTF8.GetString(c.Password!.Value));
        Assert.Equal(SharedStateFallback.Local, c.OnSharedStateError);
        Assert.Equal(TimeSpan.FromMilliseconds(5), c.Budget);
        Assert.Equal("rediss://redis.internal:6380/2", c.Display);
        Assert.Equal("gw-1", c.Instance);
    }

    [Theory]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\non_shared_state_error = \"fail_closed\"\nbudget_ms = 20", 2)]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\non_shared_state_error = \"fail_open\"", 1)]
    public void Fallback_IsChosen(string toml, int fallback)
    {
        var expected = (SharedStateFallback)fallback;
        var result = Load(toml);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(expected, result.Config!.Cluster.OnSharedStateError);
    }

    [Theory]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\npassword = \"hunter2\"", "cluster.password", "never written in gateway.toml")]
    [InlineData("redis = \"redis://:hunter2@127.0.0.1\"\nsecret_file = \"secret\"", "cluster.redis", "holds a password")]
    [InlineData("redis = \"http://127.0.0.1\"\nsecret_file = \"secret\"", "cluster.redis", "not a Redis URL")]
    [InlineData("redis = \"redis://127.0.0.1/99\"\nsecret_file = \"secret\"", "cluster.redis", "database number")]
    [InlineData("redis = \"redis://127.0.0.1\"", "cluster", "shared secret")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_env = \"GW_TEST_NO_SUCH_VARIABLE_15\"", "cluster.secret_env", "not set")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\npassword_env = \"GW_TEST_NO_SUCH_VARIABLE_15\"", "cluster.password_env", "not set")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\non_shared_state_error = \"maybe\"", "cluster.on_shared_state_error", "")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\nbudget_ms = 0", "cluster.budget_ms", "")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\ninstance = \"a b\"", "cluster.instance", "")]
    [InlineData("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\nunknown = 1", "cluster.unknown", "")]
    public void Invalid_IsRefusedWithTheKey_AndNeverEchoesThePassword(string toml, string key, string message)
    {
        var result = Load(toml);
        Assert.False(result.Ok);
        var all = string.Join("\n", result.Errors);
        Assert.Contains(result.Errors, e => e.KeyPath.StartsWith(key, StringComparison.Ordinal) && e.Message.Contains(message, StringComparison.Ordinal));
        Assert.DoesNotContain("hunter2", all, StringComparison.Ordinal);
    }

    [Fact]
    public void ShortSecret_IsRefused()
    {
        File.WriteAllText(Path.Combine(_dir, "short"), "too-short\n");
        var result = Load("redis = \"redis://127.0.0.1\"\nsecret_file = \"short\"");
        Assert.Contains(result.Errors, e => e.KeyPath == "cluster.secret_file" && e.Message.Contains("32 bytes", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("internal_listen = \"10.0.0.5:7600\"", "http://10.0.0.5:7600", null)]
    [InlineData("internal_listen = \"http://0.0.0.0:7600\"\ninternal_advertise = \"gw-1.internal:7600\"", "http://0.0.0.0:7600", "gw-1.internal:7600")]
    [InlineData("internal_listen = \"0.0.0.0:7600\"\ninternal_advertise_env = \"GW_TEST_ADVERTISE\"", "http://0.0.0.0:7600", "10.9.8.7")]
    [InlineData("", null, null)]
    public void InternalListen_ForDmPairOwners_IsRead(string lines, string? listen, string? advertise)
    {
        Environment.SetEnvironmentVariable("GW_TEST_ADVERTISE", "10.9.8.7");
        var result = Load("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\n" + lines);
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        Assert.Equal(listen, result.Config!.Cluster.InternalListen);
        Assert.Equal(advertise, result.Config.Cluster.InternalAdvertise);
    }

    [Theory]
    [InlineData("internal_listen = \"https://0.0.0.0:7600\"", "internal_listen")]
    [InlineData("internal_listen = \"0.0.0.0:7600/push\"", "internal_listen")]
    [InlineData("internal_listen = \"0.0.0.0:7600\"\ninternal_advertise = \"http://x/y\"", "internal_advertise")]
    [InlineData("internal_listen = \"0.0.0.0:7600\"\ninternal_advertise_env = \"GW_TEST_UNSET_VARIABLE\"", "internal_advertise_env")]
    public void InternalListen_Bad_IsRefusedWithTheKeyNamed(string lines, string key)
    {
        var result = Load("redis = \"redis://127.0.0.1\"\nsecret_file = \"secret\"\n" + lines);
        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.ToString().Contains(key, StringComparison.Ordinal));
    }
}
