using System.Text;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>Splits transcript bytes into parsed entries the way the SDK's readers do (blank and unparseable lines are skipped).</summary>
public static class TranscriptText
{
    /// <summary>Every line of <paramref name="utf8"/> that parses as a JSON object, in file order.</summary>
    public static List<JsonObject> ParseObjects(ReadOnlySpan<byte> utf8) => ParseLines(utf8).ConvertAll(p => p.Entry);

    /// <summary>
    /// Every line of <paramref name="utf8"/> that parses as a JSON object, in file order, with where its text is in
    /// <paramref name="utf8"/> (from its first non-blank byte to the end of the line, without the newline).
    /// </summary>
    public static List<(JsonObject Entry, Range Line)> ParseLines(ReadOnlySpan<byte> utf8)
    {
        var result = new List<(JsonObject, Range)>();
        var offset = 0;
        while (offset < utf8.Length)
        {
            var rest = utf8[offset..];
            var nl = rest.IndexOf((byte)'\n');
            var line = nl >= 0 ? rest[..nl] : rest;
            var start = 0;
            while (start < line.Length && line[start] <= 32)
            {
                start++;
            }

            if (start < line.Length && Parse(line[start..]) is JsonObject obj)
            {
                result.Add((obj, new Range(offset + start, offset + line.Length)));
            }

            offset += nl >= 0 ? nl + 1 : rest.Length;
        }

        return result;
    }

    // Straight from the UTF-8 bytes; a line with an invalid UTF-8 sequence (which the SDK reads as U+FFFD) is parsed
    // from its decoded text.
    private static JsonNode? Parse(ReadOnlySpan<byte> line) =>
        System.Text.Unicode.Utf8.IsValid(line) ? JsJson.Parse(line) : JsText.TryParse(Encoding.UTF8.GetString(line));

    /// <summary>Decodes a window of transcript bytes (a head or tail window may cut a character; it becomes U+FFFD).</summary>
    public static string Decode(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);
}
