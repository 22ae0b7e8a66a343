using Gateway.Admin;
using Gateway.Configuration;
using Gateway.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Operations;

public sealed class OverlayStoreTests
{
    private static readonly System.Net.IPAddress Client = System.Net.IPAddress.Parse("203.0.113.7");

    private static (OverlayStore Store, GatewayState State, FakeTimeProvider Time, string Dir) New(string toml = "")
    {
        var dir = Path.Combine(Path.GetTempPath(), "gateway-overlay-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var result = ConfigLoader.Load(toml, Path.Combine(dir, "gateway.toml"));
        Assert.True(result.Ok, string.Join("\n", result.Errors));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var state = new GatewayState(RuntimeSnapshot.Build(result.Config!, 1, time.GetUtcNow()));
        return (new OverlayStore(state, time, NullLogger<OverlayStore>.Instance), state, time, dir);
    }

    [Fact]
    public void AddIpBlock_WithExpiry_BlocksUntilThenIsPrunedFromFileAndSnapshot()
    {
        var (store, state, time, dir) = New("[ip_blocks]\ndeny = [\"198.51.100.0/24\"]");
        using var owned = store;
        Assert.Equal(OverlayOutcome.Added, store.AddIpBlock("203.0.113.0/24", time.GetUtcNow().AddMinutes(10), "wave").Outcome);
        Assert.True(state.Current.IpBlocks.IsBlocked(Client, time.GetUtcNow()));
        Assert.True(state.Current.IpBlocks.IsBlocked(System.Net.IPAddress.Parse("198.51.100.1"), time.GetUtcNow())); // config entry kept
        Assert.Equal(2, state.Current.IpBlocks.Count);

        time.Advance(TimeSpan.FromMinutes(11));
        Assert.False(state.Current.IpBlocks.IsBlocked(Client, time.GetUtcNow()));
        Assert.Empty(state.Current.Overlay.IpBlocks); // the prune timer fired
        Assert.Equal(1, state.Current.IpBlocks.Count);
        Assert.True(AdminOverlay.TryParse(File.ReadAllText(store.FilePath), out var onDisk, out _));
        Assert.Empty(onDisk.IpBlocks);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void AclDeny_WithExpiry_LeavesTheAclWhenItExpires()
    {
        var (store, state, time, dir) = New();
        using var owned = store;
        Assert.Equal(OverlayOutcome.Added, store.AddAclDeny("evil.example", time.GetUtcNow().AddHours(1), null).Outcome);
        Assert.False(state.Current.Acl.IsAllowed("evil.example"));
        time.Advance(TimeSpan.FromHours(2));
        Assert.True(state.Current.Acl.IsAllowed("evil.example"));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Reload_AfterOverlayChange_KeepsTheOverlay()
    {
        var (store, state, time, dir) = New();
        using var owned = store;
        store.AddIpBlock("203.0.113.0/24", null, null);
        var config = state.Current.Config;
        state.Swap(RuntimeSnapshot.Build(config, 2, time.GetUtcNow()));
        Assert.Equal(2, state.Current.Version);
        Assert.True(state.Current.IpBlocks.IsBlocked(Client, time.GetUtcNow()));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Change_WhenTheFileCannotBeWritten_IsNotSavedAndNotApplied()
    {
        var (store, state, _, dir) = New("[admin]\noverlay_file = \"missing-dir-is-a-file/overlay.json\"");
        using var owned = store;
        File.WriteAllText(Path.Combine(dir, "missing-dir-is-a-file"), "a file where a directory should be");
        var result = store.AddIpBlock("203.0.113.0/24", null, null);
        Assert.Equal(OverlayOutcome.NotSaved, result.Outcome);
        Assert.Empty(state.Current.Overlay.IpBlocks);
        Assert.Equal(0, state.Current.IpBlocks.Count);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Load_ExpiredEntriesInTheFile_AreDropped()
    {
        var (store, state, time, dir) = New();
        using var owned = store;
        var overlay = new AdminOverlay(
            new[]
            {
                new OverlayIpBlock(Policy.Net.CidrBlock.Parse("203.0.113.0/24"), time.GetUtcNow().AddDays(-1), "old", time.GetUtcNow().AddDays(-2)),
                new OverlayIpBlock(Policy.Net.CidrBlock.Parse("2001:db8::/32"), null, "kept", time.GetUtcNow().AddDays(-2)),
            },
            new[] { new OverlayAclDeny("evil.example", null, null, time.GetUtcNow()) });
        File.WriteAllText(store.FilePath, overlay.ToJson());
        store.Load();
        Assert.Equal("2001:db8::/32", state.Current.Overlay.IpBlocks.Single().Cidr.ToString());
        Assert.False(state.Current.Acl.IsAllowed("evil.example"));
        Directory.Delete(dir, recursive: true);
    }
}
