using Gateway.Telemetry;

namespace Gateway.Runtime;

/// <summary>The gateway state as telemetry's config instruments read it.</summary>
internal sealed class ConfigReadings(GatewayState state) : IConfigReadings
{
    public long Version => state.Current.Version;

    public long ReloadFailures => state.ReloadFailures;
}
