using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// The string scanners the Claude Agent SDK uses to read session metadata from the head and tail of a transcript
/// without parsing every line. Ported so our answers equal the SDK's byte for byte, including its quirks
/// (a truncated first line in the tail window, the two spellings <c>"k":"</c> and <c>"k": "</c>).
/// </summary>
internal static class JsText
{
    /// <summary>Parses a line as JSON the way <c>JSON.parse</c> would; null when it is not valid JSON.</summary>
    public static JsonNode? TryParse(string text) => JsJson.Parse(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>The SDK's <c>sc</c>: the value of the first <c>"key":"…"</c> (then <c>"key": "…"</c>) in the text.</summary>
    public static string? FirstStringField(string text, string key)
    {
        foreach (var pattern in new[] { $"\"{key}\":\"", $"\"{key}\": \"" })
        {
            var at = text.IndexOf(pattern, StringComparison.Ordinal);
            if (at < 0)
            {
                continue;
            }

            var start = at + pattern.Length;
            var end = FindClosingQuote(text, start);
            if (end >= 0)
            {
                return Unescape(text[start..end]);
            }
        }

        return null;
    }

    /// <summary>The SDK's <c>kR</c>: the value of the last <c>"key":"…"</c> or <c>"key": "…"</c> in the text.</summary>
    public static string? LastStringField(string text, string key)
    {
        string? result = null;
        var best = -1;
        foreach (var pattern in new[] { $"\"{key}\":\"", $"\"{key}\": \"" })
        {
            // From the end: the last occurrence whose value closes. (A match can never sit inside another value,
            // whose quotes are escaped, so this equals the SDK's forward scan that keeps the last match.)
            var end = text.Length;
            while (end > 0)
            {
                var at = text.AsSpan(0, end).LastIndexOf(pattern, StringComparison.Ordinal);
                if (at <= best)
                {
                    break;
                }

                var start = at + pattern.Length;
                var close = FindClosingQuote(text, start);
                if (close >= 0)
                {
                    result = Unescape(text[start..close]);
                    best = at;
                    break;
                }

                end = at;
            }
        }

        return result;
    }

    /// <summary>
    /// The SDK's <c>DR</c>: scanning lines from the end, the string field <paramref name="field"/> of the last entry
    /// whose line mentions it (and, when <paramref name="type"/> is given, whose <c>type</c> is that). With
    /// <paramref name="lenient"/> (the SDK's "older" mode) a line that does not parse, such as the cut first line of
    /// a tail window, is retried from its embedded <c>{"type":"…"</c>.
    /// </summary>
    public static string? LastEntryField(string text, string field, string? type, bool lenient)
    {
        string[]? typePatterns = type is null ? null : lenient ? [$"\"type\":\"{type}\"", $"\"type\": \"{type}\""] : [$"\"type\":\"{type}\""];
        var fieldPattern = $"\"{field}\":";

        // Lines from the end, jumping straight to the previous line that mentions the field (the others are skipped).
        var end = text.Length;
        while (end > 0)
        {
            var at = text.AsSpan(0, end).LastIndexOf(fieldPattern, StringComparison.Ordinal);
            if (at < 0)
            {
                break;
            }

            var nl = at == 0 ? -1 : text.LastIndexOf('\n', at - 1);
            var lineEnd = text.IndexOf('\n', at);
            var line = text[(nl + 1)..(lineEnd < 0 ? text.Length : lineEnd)];
            end = nl;
            if (typePatterns is null || typePatterns.Any(p => line.Contains(p, StringComparison.Ordinal)))
            {
                var (parsed, value) = FieldOf(line, field, type);
                if (!parsed && lenient)
                {
                    var d = line.LastIndexOf("{" + typePatterns![0], StringComparison.Ordinal);
                    if (d > 0 && !":,[".Contains(line[d - 1], StringComparison.Ordinal))
                    {
                        (_, value) = FieldOf(line[d..], field, type);
                    }
                }

                if (value is not null)
                {
                    return value;
                }
            }

            if (nl < 0)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>JavaScript's <c>String.prototype.trim</c> (its whitespace set differs from .NET's).</summary>
    public static string JsTrim(string s)
    {
        int start = 0, end = s.Length;
        while (start < end && IsJsWhiteSpace(s[start]))
        {
            start++;
        }

        while (end > start && IsJsWhiteSpace(s[end - 1]))
        {
            end--;
        }

        return s[start..end];
    }

    /// <summary>The SDK's <c>ii</c>: the first <paramref name="max"/> UTF-16 units, never ending in a lone high surrogate.</summary>
    public static string TruncateUtf16(string s, int max)
    {
        if (s.Length <= max)
        {
            return s;
        }

        var cut = s[..max];
        return char.IsHighSurrogate(cut[^1]) ? cut[..^1] : cut;
    }

    /// <summary>Parses a JavaScript <c>Date.parse</c>-style ISO timestamp to epoch milliseconds.</summary>
    public static long? ParseTimestamp(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUnixTimeMilliseconds()
            : null;
    }

    private static bool IsJsWhiteSpace(char c) =>
        c is '\t' or '\n' or '\v' or '\f' or '\r' or ' ' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' or '\uFEFF'
        || (c >= '\u2000' && c <= '\u200A');

    private static (bool Parsed, string? Value) FieldOf(string line, string field, string? type)
    {
        var node = TryParse(line);
        if (node is null)
        {
            return (false, null);
        }

        if (node is JsonObject obj && (type is null || Str(obj, "type") == type))
        {
            return (true, Str(obj, field));
        }

        return (true, null);
    }

    private static int FindClosingQuote(string text, int start)
    {
        var i = start;
        while (i < text.Length)
        {
            if (text[i] == '\\')
            {
                i += 2;
                continue;
            }

            if (text[i] == '"')
            {
                return i;
            }

            i++;
        }

        return -1;
    }

    private static string Unescape(string raw)
    {
        if (!raw.Contains('\\', StringComparison.Ordinal))
        {
            return raw;
        }

        try
        {
            return JsonSerializer.Deserialize<string>("\"" + raw + "\"") ?? raw;
        }
        catch (JsonException)
        {
            return raw;
        }
    }

    /// <summary>A string-valued property of an object, or null when absent or not a string.</summary>
    public static string? Str(JsonObject? obj, string name) =>
        obj is not null && obj.TryGetPropertyValue(name, out var v) && v is JsonValue jv && jv.GetValueKind() == JsonValueKind.String
            ? jv.GetValue<string>()
            : null;

    /// <summary>True when a property is the JSON literal <c>true</c>.</summary>
    public static bool IsTrue(JsonObject? obj, string name) =>
        obj is not null && obj.TryGetPropertyValue(name, out var v) && v is JsonValue jv && jv.GetValueKind() == JsonValueKind.True;

    /// <summary>JavaScript truthiness of a property (absent, null, false, 0, "" are falsy).</summary>
    public static bool Truthy(JsonObject? obj, string name)
    {
        if (obj is null || !obj.TryGetPropertyValue(name, out var v) || v is null)
        {
            return false;
        }

        if (v is not JsonValue jv)
        {
            return true;
        }

        return jv.GetValueKind() switch
        {
            JsonValueKind.False or JsonValueKind.Null => false,
            JsonValueKind.String => jv.GetValue<string>().Length > 0,
            JsonValueKind.Number => jv.GetValue<double>() != 0,
            _ => true,
        };
    }
}
