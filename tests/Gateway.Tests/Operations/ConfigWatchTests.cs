using Gateway.Admin;
using Gateway.Tests.EndToEnd;
using Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Tests.Operations;

/// <summary>
/// Neither the proxy nor the admin application watches appsettings files: a WebApplication's default does, with a
/// recursive FileSystemWatcher over its working directory (one inotify watch per directory: the soak's gateway held
/// 2 × 4,372 over the repository; under systemd, WorkingDirectory "/" is the whole filesystem).
/// </summary>
public sealed class ConfigWatchTests
{
    private static IEnumerable<FileConfigurationSource> Reloading(IConfiguration configuration) =>
        ((IConfigurationRoot)configuration).Providers.OfType<FileConfigurationProvider>().Select(p => p.Source).Where(s => s.ReloadOnChange);

    [Fact]
    public async Task ProxyAndAdminApps_ReloadNoFileConfiguration()
    {
        var backend = await RecordingBackend.StartAsync();
        await using var _ = backend;
        await using var gw = await OpsGateway.StartAsync(JsonRouteTests.Config(backend.Url) + OpsGateway.AdminTable());
        var proxyConfiguration = gw.Services.GetRequiredService<IConfiguration>();
        var admin = gw.Services.GetRequiredService<AdminServer>().App!;

        Assert.NotEmpty(((IConfigurationRoot)proxyConfiguration).Providers); // the check below looks at real sources
        Assert.Empty(Reloading(proxyConfiguration));
        Assert.Empty(Reloading(admin.Configuration));
    }
}
