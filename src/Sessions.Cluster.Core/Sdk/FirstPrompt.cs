using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// The first meaningful user prompt of a transcript, as the SDK computes it (its <c>ps</c>, <c>ch</c>, <c>mR</c>,
/// <c>fF</c>): meta entries, tool results and compaction summaries are skipped, command wrappers fall back to the
/// command name, <c>&lt;bash-input&gt;</c> becomes <c>! cmd</c>, and the text is cut at 200 UTF-16 units plus "…".
/// </summary>
internal static partial class FirstPrompt
{
    /// <summary>Longest first prompt before it is cut, in UTF-16 code units.</summary>
    public const int MaxLength = 200;

    [GeneratedRegex(@"^(?:\s*<[a-z][A-Za-z0-9_-]*[\s>]|\[Request interrupted by user[^\]]*\])")]
    private static partial Regex SkipPattern();

    [GeneratedRegex(@"<command-name>([^\n\r\u2028\u2029]*?)</command-name>")]
    private static partial Regex CommandName();

    [GeneratedRegex(@"<bash-input>([\s\S]*?)</bash-input>")]
    private static partial Regex BashInput();

    /// <summary>The SDK's <c>ch</c> over a head window: scans lines and returns the first prompt, or the command fallback ("" when none).</summary>
    public static string FromHead(string head)
    {
        var fallback = new Fallback();
        foreach (var line in Lines(head))
        {
            if (!line.Contains("\"type\":\"user\"", StringComparison.Ordinal) && !line.Contains("\"type\": \"user\"", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.Contains("\"tool_result\"", StringComparison.Ordinal) ||
                line.Contains("\"isMeta\":true", StringComparison.Ordinal) || line.Contains("\"isMeta\": true", StringComparison.Ordinal) ||
                line.Contains("\"isCompactSummary\":true", StringComparison.Ordinal) || line.Contains("\"isCompactSummary\": true", StringComparison.Ordinal))
            {
                continue;
            }

            if (JsText.TryParse(line) is JsonObject entry && FromEntry(entry, fallback) is { } prompt)
            {
                return prompt;
            }
        }

        return fallback.Command;
    }

    /// <summary>The SDK's <c>mF</c>: the first prompt over parsed entries.</summary>
    public static string FromEntries(IEnumerable<JsonObject> entries)
    {
        var fallback = new Fallback();
        foreach (var entry in entries)
        {
            if (FromEntry(entry, fallback) is { } prompt)
            {
                return prompt;
            }
        }

        return fallback.Command;
    }

    /// <summary>The SDK's <c>fF</c>: "Image" or "Document" when the first real user line carries one, else "".</summary>
    public static string MediaFallback(string head)
    {
        foreach (var line in Lines(head))
        {
            if (!line.Contains("\"type\":\"user\"", StringComparison.Ordinal) && !line.Contains("\"type\": \"user\"", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.Contains("\"tool_result\"", StringComparison.Ordinal) ||
                line.Contains("\"isMeta\":true", StringComparison.Ordinal) || line.Contains("\"isMeta\": true", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.Contains("\"type\":\"image\"", StringComparison.Ordinal) || line.Contains("\"type\": \"image\"", StringComparison.Ordinal))
            {
                return "Image";
            }

            if (line.Contains("\"type\":\"document\"", StringComparison.Ordinal) || line.Contains("\"type\": \"document\"", StringComparison.Ordinal))
            {
                return "Document";
            }
        }

        return "";
    }

    private static string? FromEntry(JsonObject e, Fallback fallback)
    {
        if (JsText.Str(e, "type") != "user" || JsText.IsTrue(e, "isMeta") || JsText.IsTrue(e, "isCompactSummary"))
        {
            return null;
        }

        if (!JsText.Truthy(e, "message") || e["message"] is not JsonObject message)
        {
            return null;
        }

        var texts = new List<string>();
        var content = message["content"];
        if (content is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            texts.Add(v.GetValue<string>());
        }
        else if (content is JsonArray blocks)
        {
            foreach (var block in blocks)
            {
                if (block is not JsonObject b)
                {
                    continue;
                }

                var blockType = JsText.Str(b, "type");
                if (blockType == "tool_result")
                {
                    return null;
                }

                if (blockType == "text" && JsText.Str(b, "text") is { } text)
                {
                    texts.Add(text);
                }
            }
        }

        foreach (var raw in texts)
        {
            var c = JsText.JsTrim(PastedContent.Unwrap(raw).Replace('\n', ' '));
            if (c.Length == 0)
            {
                continue;
            }

            var command = CommandName().Match(c);
            if (command.Success)
            {
                if (fallback.Command.Length == 0)
                {
                    fallback.Command = command.Groups[1].Value;
                }

                continue;
            }

            var bash = BashInput().Match(c);
            if (bash.Success)
            {
                return "! " + JsText.JsTrim(bash.Groups[1].Value);
            }

            if (SkipPattern().IsMatch(c))
            {
                continue;
            }

            if (c.Length > MaxLength)
            {
                c = JsText.JsTrim(JsText.TruncateUtf16(c, MaxLength)) + "…";
            }

            return c;
        }

        return null;
    }

    private static IEnumerable<string> Lines(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var line = nl >= 0 ? text[start..nl] : text[start..];
            start = nl >= 0 ? nl + 1 : text.Length;
            yield return line;
        }
    }

    private sealed class Fallback
    {
        public string Command { get; set; } = "";
    }
}
