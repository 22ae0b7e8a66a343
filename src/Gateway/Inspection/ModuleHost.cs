using Gateway.Configuration;
using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Runtime;
using Gateway.Telemetry;

namespace Gateway.Inspection;

/// <summary>
/// What module runtimes see of the host, always through the live snapshot: its settings, the one gateway-wide server
/// ACL (gateway.toml plus the admin API's runtime entries), the policy, and evaluation with the host's side effects.
/// The state is resolved on first use: the initial snapshot is built with the module runtimes this host serves.
/// </summary>
internal sealed class ModuleHost(IServiceProvider services, OpaqueTraffic opaque, TimeProvider time) : IModuleHost
{
    private GatewayState? _state;
    private MessageEvaluator? _evaluator;
    private GatewayTelemetry? _telemetry;

    private GatewayState State => _state ??= services.GetRequiredService<GatewayState>();

    private MessageEvaluator Evaluator => _evaluator ??= services.GetRequiredService<MessageEvaluator>();

    private GatewayTelemetry Telemetry => _telemetry ??= services.GetRequiredService<GatewayTelemetry>();

    public long Version => State.Current.Version;

    public ServerAcl GatewayAcl => State.Current.Acl;

    public PolicySnapshot Policy => State.Current.Policy;

    public OpaqueTraffic Opaque => opaque;

    public TimeProvider Time => time;

    public object? GlobalSettings(string module) => State.Current.Config.ModuleSettings.GetValueOrDefault(module);

    public Verdict Evaluate(ChatMessage message, string source)
    {
        var snapshot = State.Current;
        var verdicts = new Verdict[1];
        var binding = new RouteBinding(source, source, null, OnError.Reject, message.Protocol);
        Evaluator.Evaluate(snapshot, binding, message.Protocol, new[] { message }, null, verdicts);
        return verdicts[0];
    }

    public void CountRefusal(string protocol, string reason) => Telemetry.CountAclDenied(protocol);
}
