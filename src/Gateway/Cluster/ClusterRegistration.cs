using Gateway.Configuration;
using Gateway.Policy.Protections;
using Gateway.Reporting;
using Gateway.Telemetry;

namespace Gateway.Cluster;

internal static class ClusterRegistration
{
    /// <summary>
    /// With [cluster]: the Redis link, the shared counters in place of the in-process ones, and the sync of runtime
    /// blocks and membership. [cluster] is read at start only (a reload does not reconnect: restart to change it).
    /// </summary>
    public static void AddGatewayCluster(this IServiceCollection services, GatewayConfig config)
    {
        if (!config.Cluster.Enabled)
        {
            return;
        }

        services.AddSingleton(sp => new RedisLink(config.Cluster, sp.GetRequiredService<GatewayTelemetry>(), sp.GetRequiredService<ILogger<RedisLink>>()));
        services.AddSingleton<ClusterSync>();
        services.AddSingleton<ICounterStore>(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return new RedisCounterStore(sp.GetRequiredService<RedisLink>(), new LocalCounterStore(time, config.Counters.MaxKeys), time);
        });
        services.AddTransient<IStartupFilter, ClusterStartupFilter>();
        if (config.Cluster.InternalListen is not null)
        {
            // DM pair owners: the hand-off the reporting pipeline asks, and the listener the others push to.
            services.AddSingleton<PairOwners>();
            services.AddSingleton<IPairOwners>(sp => sp.GetRequiredService<PairOwners>());
            services.AddSingleton<PeerServer>();
            services.AddHostedService(sp => sp.GetRequiredService<PeerServer>());
        }
    }

    /// <summary>Runs after every filter's Configure (the overlay file is loaded there), before the first request.</summary>
    private sealed class ClusterStartupFilter(ClusterSync sync) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            sync.Start();
            next(app);
        };
    }
}

/// <summary>What the admin API shows of the cluster; all null on a single instance (owners null without internal_listen).</summary>
internal sealed record ClusterAccess(ClusterSync? Sync, RedisLink? Link, PairOwners? Owners = null);
