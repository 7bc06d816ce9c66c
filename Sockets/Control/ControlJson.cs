using System.Text.Json.Serialization;

namespace UserStack.Sockets.Control;

/// <summary>The control protocol's JSON: snake_case names, no indentation (one response is one line).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StackSnapshot))]
[JsonSerializable(typeof(ControlError))]
public sealed partial class ControlJson : JsonSerializerContext;

/// <summary>The answer to a request the server does not know: {"error": "..."}.</summary>
public sealed record ControlError(string Error);
