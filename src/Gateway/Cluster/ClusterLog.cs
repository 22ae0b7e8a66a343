using Gateway.Configuration;

namespace Gateway;

/// <summary>
/// The scale-out log lines (event ids 4500–4599). Once per outage, not once per message: a Redis outage under load
/// would otherwise flood the log. Never a password, a key's source text or a message.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(4500, LogLevel.Warning, "Shared state (Redis {Redis}) unavailable ({Reason}): counting {Mode} until it is back")]
    public static partial void SharedStateDown(ILogger logger, string redis, string reason, SharedStateFallback mode);

    [LoggerMessage(4501, LogLevel.Information, "Shared state (Redis {Redis}) is back: counters shared again, runtime blocks resynchronised")]
    public static partial void SharedStateBack(ILogger logger, string redis);

    [LoggerMessage(4502, LogLevel.Information, "Cluster member {Instance} joined Redis {Redis}")]
    public static partial void ClusterJoined(ILogger logger, string instance, string redis);

    [LoggerMessage(4503, LogLevel.Information, "Cluster sync: {IpBlocks} IP blocks, {AclDeny} ACL entries and {SenderBlocks} sender blocks from Redis")]
    public static partial void ClusterLoaded(ILogger logger, int ipBlocks, int aclDeny, int senderBlocks);

    [LoggerMessage(4504, LogLevel.Warning, "Cluster sync failed ({Problem}); retrying on the next heartbeat")]
    public static partial void ClusterSyncFailed(ILogger logger, string problem);

    [LoggerMessage(4505, LogLevel.Warning, "DM pair owner {Instance} unreachable ({Problem}): its pairs' appends and reports are kept on this instance until it is back or leaves")]
    public static partial void PairOwnerUnreachable(ILogger logger, string instance, string problem);

    [LoggerMessage(4506, LogLevel.Information, "DM pair owner {Instance} reachable again: appends are pushed to it")]
    public static partial void PairOwnerBack(ILogger logger, string instance);

    [LoggerMessage(4507, LogLevel.Information, "Cluster internal listener on {Address}, announced as {Advertised} (sealed DM pair pushes only)")]
    public static partial void PeerListening(ILogger logger, string address, string advertised);

    [LoggerMessage(4508, LogLevel.Debug, "Refused a push on the internal listener: {Result} ({Status})")]
    public static partial void PeerPushRefused(ILogger logger, string result, int status);
}
