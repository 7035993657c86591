using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// A transcript's full history as a person reads it: every user, assistant and system entry of the main conversation
/// in file order, before and after each compaction (the SDK's <c>getSessionMessages</c> chain is what the model sees
/// after the last one). Entries of subagents written into the main file (<c>isSidechain</c>), lines that are not JSON
/// objects or whose <c>message</c> is not an object, and repeated uuids (the first is kept) are left out.
/// </summary>
public static class TranscriptHistory
{
    private static readonly HashSet<string> Shown = ["user", "assistant", "system"];

    /// <summary>The entries, oldest first, in the shape <see cref="TranscriptModelBuilder.Build"/> takes.</summary>
    /// <param name="transcript">The transcript's JSONL bytes.</param>
    public static List<JsonObject> Read(ReadOnlySpan<byte> transcript)
    {
        var entries = new List<JsonObject>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (!transcript.IsEmpty)
        {
            var end = transcript.IndexOf((byte)'\n');
            var line = end < 0 ? transcript : transcript[..end];
            transcript = end < 0 ? default : transcript[(end + 1)..];
            if (line.IsEmpty || TranscriptUuids.Of(line) is not { } uuid || !seen.Add(uuid))
            {
                continue;
            }

            try
            {
                if (JsonNode.Parse(line, documentOptions: EntryLimits.LineDocumentOptions) is JsonObject entry
                    && entry["type"] is JsonValue type && type.GetValueKind() == JsonValueKind.String && Shown.Contains(type.GetValue<string>())
                    && entry["isSidechain"]?.GetValueKind() != JsonValueKind.True
                    && entry["message"] is null or JsonObject)
                {
                    entries.Add(entry);
                }
            }
            catch (JsonException)
            {
                // Not an entry a reader can show; the raw JSONL download still has it.
            }
        }

        return entries;
    }
}

/// <summary>The facts a person looks for in a session, over its full history (<see cref="TranscriptHistory"/>).</summary>
/// <param name="Models">The models that answered, the most used first.</param>
/// <param name="Tokens">Tokens over every API message (each counted once), model null.</param>
/// <param name="ToolCalls">Tool calls by tool name, the most used first.</param>
/// <param name="First">The first entry's time, if any has one.</param>
/// <param name="Last">The last entry's time, if any has one.</param>
public sealed record SessionFacts(IReadOnlyList<string> Models, TokenUsage Tokens, IReadOnlyList<(string Tool, int Calls)> ToolCalls, DateTimeOffset? First, DateTimeOffset? Last)
{
    /// <summary>From the first to the last entry, or null.</summary>
    public TimeSpan? Duration => First is { } first && Last is { } last && last >= first ? last - first : null;

    /// <summary>Counts the facts of <paramref name="history"/>.</summary>
    public static SessionFacts Of(IReadOnlyList<JsonObject> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var lastOfMessage = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < history.Count; i++)
        {
            if (Text(history[i]["type"]) == "assistant" && history[i]["message"] is JsonObject m && Text(m["id"]) is { } id)
            {
                lastOfMessage[id] = i;
            }
        }

        var models = new Dictionary<string, int>(StringComparer.Ordinal);
        var tools = new Dictionary<string, int>(StringComparer.Ordinal);
        var calls = new HashSet<string>(StringComparer.Ordinal);
        long input = 0, output = 0, cacheRead = 0, cacheWrite = 0;
        DateTimeOffset? first = null, last = null;
        for (var i = 0; i < history.Count; i++)
        {
            var entry = history[i];
            if (Text(entry["timestamp"]) is { } ts
                && DateTimeOffset.TryParse(ts, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
            {
                first = first is { } f && f <= at ? f : at;
                last = last is { } l && l >= at ? l : at;
            }

            if (TranscriptModelBuilder.UsageOf(entry, i, lastOfMessage) is { } usage)
            {
                input += usage.Input;
                output += usage.Output;
                cacheRead += usage.CacheRead;
                cacheWrite += usage.CacheWrite;
                if (usage.Model is { Length: > 0 } model && model != "<synthetic>")
                {
                    models[model] = models.GetValueOrDefault(model) + 1;
                }
            }

            if (Text(entry["type"]) == "assistant" && entry["message"] is JsonObject message && message["content"] is JsonArray content)
            {
                foreach (var block in content)
                {
                    if (block is JsonObject b && Text(b["type"]) == "tool_use" && Text(b["name"]) is { } name && calls.Add(Text(b["id"]) ?? $"#{i}/{calls.Count}"))
                    {
                        tools[name] = tools.GetValueOrDefault(name) + 1;
                    }
                }
            }
        }

        return new SessionFacts(
            [.. models.OrderByDescending(m => m.Value).ThenBy(m => m.Key, StringComparer.Ordinal).Select(m => m.Key)],
            new TokenUsage(null, input, output, cacheRead, cacheWrite),
            [.. tools.OrderByDescending(t => t.Value).ThenBy(t => t.Key, StringComparer.Ordinal).Select(t => (t.Key, t.Value))],
            first, last);
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
