using System.Text;
using Gateway.Protocols.Json;
using Xunit;

namespace Gateway.Tests.Json;

internal static class JsonTestData
{
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static JsonPointer Pointer(string text)
    {
        Assert.True(JsonPointer.TryParse(text, out var pointer, out var error), error);
        return pointer;
    }

    public static JsonFieldScanner Scanner(params string[] pointers) => Scanner(64, pointers);

    public static JsonFieldScanner Scanner(int maxDepth, params string[] pointers)
    {
        var parsed = new JsonPointer[pointers.Length];
        for (var i = 0; i < pointers.Length; i++)
        {
            parsed[i] = Pointer(pointers[i]);
        }

        return new JsonFieldScanner(parsed, maxDepth);
    }

    /// <summary>Scans and returns the error plus one location per pointer.</summary>
    public static (JsonScanError Error, JsonValueLocation?[] Found) Scan(byte[] json, params string[] pointers)
    {
        var found = new JsonValueLocation?[pointers.Length];
        var error = Scanner(pointers).Scan(json, found, out _);
        return (error, found);
    }

    /// <summary>Scans a document that must be valid and returns the location of its single pointer.</summary>
    public static JsonValueLocation? Locate(byte[] json, string pointer)
    {
        var (error, found) = Scan(json, pointer);
        Assert.Equal(JsonScanError.None, error);
        return found[0];
    }

    public static string Raw(byte[] json, JsonValueLocation location) =>
        Encoding.UTF8.GetString(json, location.Start, location.Length);

    public static byte[] FromHex(string hex) => Convert.FromHexString(hex);
}
