using Gateway.Configuration;
using Gateway.Protocols.Lemmy;

namespace Gateway.Tests.Lemmy;

/// <summary>The <c>[backends.lemmy]</c> keys: read as documented, errors with file:line and key path.</summary>
public sealed class LemmyConfigTests
{
    [Fact]
    public void BackendTable_DocumentedKeys_AreRead()
    {
        var result = ConfigLoader.Load("""
            [[backends]]
            name = "lemmy"
            protocol = "lemmy"
            upstreams = ["http://127.0.0.1:8536"]
              [backends.lemmy]
              api = "http://lemmy.internal:8536"
              token_cache_seconds = 30
              community_cache_seconds = 600
              admins_exempt = false
            """, "gateway.toml");

        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var backend = Assert.Single(result.Config!.Backends);
        var settings = Assert.IsType<LemmyBackendSettings>(backend.Module);
        Assert.Equal(new Uri("http://lemmy.internal:8536"), settings.Api);
        Assert.Equal(30, settings.TokenCacheSeconds);
        Assert.Equal(600, settings.CommunityCacheSeconds);
        Assert.False(settings.AdminsExempt);
    }

    [Fact]
    public void BackendTable_UnknownKeyAndBadValue_NameTheKeyAndLine()
    {
        var result = ConfigLoader.Load("""
            [[backends]]
            name = "lemmy"
            protocol = "lemmy"
            upstreams = ["http://127.0.0.1:8536"]
              [backends.lemmy]
              token_cache_seconds = -1
              slur_regex = "x"
            """, "gateway.toml");

        Assert.False(result.Ok);
        var errors = result.Errors.Select(e => e.ToString()).ToArray();
        Assert.Contains(errors, e => e.StartsWith("gateway.toml:6:", StringComparison.Ordinal) && e.Contains("backends[0].lemmy.token_cache_seconds", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("backends[0].lemmy.slur_regex", StringComparison.Ordinal));
    }
}
