namespace Gateway.Protocols.Configuration;

/// <summary>A secret read from the environment or a file (tokens, signing keys). Never printed: <see cref="ToString"/> is "***".</summary>
public sealed class Secret(byte[] value)
{
    public byte[] Value { get; } = value;

    public override string ToString() => "***";
}
