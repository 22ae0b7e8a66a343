using Gateway.Policy.Acl;
using Gateway.Policy.Model;
using Gateway.Policy.Rules;
using Gateway.Protocols.Abstractions;
using Gateway.Protocols.Matrix;

namespace Gateway.Tests.MatrixModule;

/// <summary>An <see cref="IModuleHost"/> for module unit tests: settings, ACL and policy as given; refusals and evaluations recorded.</summary>
internal sealed class FakeModuleHost : IModuleHost
{
    public FakeModuleHost(MatrixSettings? matrix = null, ServerAcl? acl = null, IReadOnlyList<FilterDefinition>? filters = null)
    {
        Matrix = matrix ?? MatrixSettings.Default;
        GatewayAcl = acl ?? ServerAcl.AllowAll;
        Policy = PolicyCompiler.Compile(filters ?? Array.Empty<FilterDefinition>());
    }

    public MatrixSettings Matrix { get; set; }

    public List<(string Protocol, string Reason)> Refusals { get; } = new();

    public List<(ChatMessage Message, string Source)> Evaluated { get; } = new();

    public long Version => 1;

    public ServerAcl GatewayAcl { get; set; }

    public PolicySnapshot Policy { get; }

    public OpaqueTraffic Opaque { get; } = new();

    public TimeProvider Time => TimeProvider.System;

    public object? GlobalSettings(string module) => module == "matrix" ? Matrix : null;

    /// <summary>When set, Evaluate throws it: an engine fault of a type no endpoint expects.</summary>
    public Exception? EvaluateThrows { get; set; }

    public Verdict Evaluate(ChatMessage message, string source)
    {
        Evaluated.Add((message, source));
        if (EvaluateThrows is { } fault)
        {
            throw fault;
        }

        return Policy.Evaluate(message);
    }

    public void CountRefusal(string protocol, string reason) => Refusals.Add((protocol, reason));
}
