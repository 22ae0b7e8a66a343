namespace Gateway.Protocols.Abstractions;

/// <summary>Where an exception was thrown, for a log line: the declaring type and method, nothing from its message or the input.</summary>
public static class ExceptionSite
{
    public static string Of(Exception ex) =>
        ex.TargetSite is { } m ? $"{m.DeclaringType?.Name}.{m.Name}" : "unknown";
}
