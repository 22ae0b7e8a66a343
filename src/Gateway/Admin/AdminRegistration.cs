using Gateway.Configuration;
using Gateway.Reporting;

namespace Gateway.Admin;

internal static class AdminRegistration
{
    /// <summary>
    /// The overlay (always: blocks added while the admin API was on keep applying when it is switched off), the ring of
    /// recent verdicts, and the admin listener when [admin] is enabled.
    /// </summary>
    public static void AddGatewayAdmin(this WebApplicationBuilder builder, GatewayConfig config)
    {
        var services = builder.Services;
        services.AddSingleton(sp => new RecentVerdicts(config.Admin.RecentVerdicts, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<OverlayStore>();

        // Startup filters run while the request pipeline is built, before the first listener accepts a connection.
        services.AddTransient<IStartupFilter, OverlayStartupFilter>();
        if (config.Admin.Enabled)
        {
            services.AddSingleton<AdminServer>();
            services.AddHostedService(sp => sp.GetRequiredService<AdminServer>());
        }
    }

    private sealed class OverlayStartupFilter(OverlayStore store) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next)
        {
            store.Load();
            return next;
        }
    }
}
