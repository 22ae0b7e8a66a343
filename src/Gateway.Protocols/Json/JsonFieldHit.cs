namespace Gateway.Protocols.Json;

/// <summary>One value found at the path of pointer number <paramref name="Pointer"/> (constructor order).</summary>
internal readonly record struct JsonFieldHit(int Pointer, JsonValueLocation Location);
