using Gateway.Policy.Protections;
using Gateway.Telemetry;

namespace Gateway.Inspection;

/// <summary>
/// What protections keep across config versions: the counters (behind <see cref="ICounterStore"/>, so the
/// scale-out store can take the in-process one's place), the sender block list and the per-rule hit counters.
/// </summary>
internal sealed class ProtectionState
{
    public ProtectionState(ICounterStore store, SenderBlockList blocks, RuleHits hits, GatewayTelemetry telemetry)
    {
        Store = store;
        Blocks = blocks;
        Hits = hits;
        telemetry.ObserveProtections(() => store.Count, () => store.Evictions, () => blocks.Count);
    }

    public ICounterStore Store { get; }

    public SenderBlockList Blocks { get; }

    public RuleHits Hits { get; }
}
