using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Console;

/// <summary>One page of a transcript as the console shows it: the SDK's message chain (getSessionMessages, system
/// messages included so compaction boundaries show), tool results paired with their calls, each message's raw entry.</summary>
/// <param name="Messages">The page's messages, oldest first.</param>
/// <param name="Total">Messages in the whole chain.</param>
/// <param name="Offset">Index of the page's first message in the chain.</param>
/// <param name="ForkPoint">In a fork, the first message of its own (after those copied from its parent, which carry
/// <see cref="MessageItem.ForkedFrom"/>), or null: not a fork, or nothing of its own yet.</param>
public sealed record TranscriptModel(IReadOnlyList<MessageItem> Messages, int Total, int Offset, string? ForkPoint = null);

/// <summary>One message of the chain.</summary>
/// <param name="Uuid">The entry's uuid (the fork point when forking at it).</param>
/// <param name="Type"><c>user</c>, <c>assistant</c> or <c>system</c> (a compaction boundary).</param>
/// <param name="Timestamp">ISO-8601 time of the entry, if it has one.</param>
/// <param name="Blocks">What the message holds, in order.</param>
/// <param name="IsCompactSummary">True for the summary a compaction left in place of the earlier conversation.</param>
/// <param name="Raw">The entry's JSONL line (cut at <see cref="TranscriptModelBuilder.MaxShownChars"/>), or null when not found.</param>
/// <param name="Subtype">A system entry's <c>subtype</c> (<c>compact_boundary</c>, <c>turn_duration</c>, …), else null.</param>
/// <param name="Usage">The model and tokens of an assistant entry, on the last entry of its API message only (Claude Code
/// writes one entry per content block, each repeating the message's usage), else null.</param>
/// <param name="ForkedFrom">In a fork, the uuid of the parent's message this one was copied from (<c>forkedFrom.messageUuid</c>,
/// written by the SDK's forkSession), else null.</param>
public sealed record MessageItem(string Uuid, string Type, string? Timestamp, IReadOnlyList<MessageBlock> Blocks, bool IsCompactSummary, string? Raw,
    string? Subtype = null, TokenUsage? Usage = null, string? ForkedFrom = null)
{
    /// <summary>Whether this is a compaction boundary (a system entry of subtype <c>compact_boundary</c>, or a system message of the SDK's chain without a subtype).</summary>
    public bool IsBoundary => Type == "system" && Subtype is null or "compact_boundary";
}

/// <summary>The model and token counts of one API message (an assistant entry's <c>message.model</c> and <c>message.usage</c>).</summary>
/// <param name="Model">The model, e.g. <c>claude-opus-4-6</c>, or null.</param>
/// <param name="Input">Input tokens not read from or written to the cache.</param>
/// <param name="Output">Output tokens.</param>
/// <param name="CacheRead">Input tokens read from the prompt cache.</param>
/// <param name="CacheWrite">Input tokens written to the prompt cache.</param>
public sealed record TokenUsage(string? Model, long Input, long Output, long CacheRead, long CacheWrite);

/// <summary>A piece of a message (its kind named in JSON by <c>$block</c>: the page crosses silos as JSON).</summary>
[System.Text.Json.Serialization.JsonPolymorphic(TypeDiscriminatorPropertyName = "$block")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(TextBlock), "text")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(ThinkingBlock), "thinking")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(ToolCallBlock), "tool_call")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(ToolResultBlock), "tool_result")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(ImageBlock), "image")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(OtherBlock), "other")]
public abstract record MessageBlock;

/// <summary>Text: Markdown for the assistant, plain for the user.</summary>
/// <param name="Text">The text (cut at <see cref="TranscriptModelBuilder.MaxShownChars"/>).</param>
public sealed record TextBlock(string Text) : MessageBlock;

/// <summary>A thinking block (shown collapsed).</summary>
public sealed record ThinkingBlock(string Text) : MessageBlock;

/// <summary>A tool call with its result when the chain has it.</summary>
/// <param name="Id">The tool_use id.</param>
/// <param name="Name">The tool's name.</param>
/// <param name="Input">The input, as indented JSON.</param>
/// <param name="Result">The result's text, or null when the chain holds none.</param>
/// <param name="IsError">True when the result is an error.</param>
/// <param name="AgentId">The subagent this call started (its transcript is <c>subagents/agent-&lt;id&gt;</c>), if any.</param>
/// <param name="View">The call as a person reads it (<see cref="ToolViews"/>), or null for a tool shown as JSON.</param>
public sealed record ToolCallBlock(string Id, string Name, string Input, string? Result, bool IsError, string? AgentId, ToolView? View = null) : MessageBlock;

/// <summary>A tool result whose call is not in the chain.</summary>
public sealed record ToolResultBlock(string ToolUseId, string Text, bool IsError) : MessageBlock;

/// <summary>An inline image (base64 PNG, JPEG, GIF or WebP only).</summary>
public sealed record ImageBlock(string MediaType, string Base64) : MessageBlock;

/// <summary>Any other content block, as JSON.</summary>
public sealed record OtherBlock(string Kind, string Json) : MessageBlock;

/// <summary>Builds <see cref="TranscriptModel"/> pages from the SDK's messages and the transcript's raw lines.</summary>
public static class TranscriptModelBuilder
{
    /// <summary>Longest text, input, result or raw line shown inline, in characters; the rest is in the JSONL download.</summary>
    public const int MaxShownChars = 64 * 1024;

    // Indented, and written as a person reads it: quotes, '<', '&' and non-ASCII text as themselves, not as \u escapes
    // (the page HTML-encodes what it shows, so nothing here reaches the markup unencoded).
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true, MaxDepth = EntryLimits.MaxEnvelopeDepth, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly HashSet<string> ImageTypes = ["image/png", "image/jpeg", "image/gif", "image/webp"];

    /// <summary>
    /// One page of <paramref name="messages"/> (the whole chain): results are attached to their calls wherever they
    /// are in the chain, and a user message that only carried results is left out.
    /// </summary>
    /// <param name="messages">The chain, as the SDK's getSessionMessages answers it.</param>
    /// <param name="transcript">The transcript's JSONL bytes (for raw entries and subagent links), or empty.</param>
    /// <param name="offset">First message of the page (clamped to the chain).</param>
    /// <param name="pageSize">Messages per page.</param>
    /// <param name="at">A message uuid: the page holding it is shown instead of <paramref name="offset"/>'s, when it is there.</param>
    public static TranscriptModel Build(IReadOnlyList<JsonObject> messages, ReadOnlySpan<byte> transcript, int offset, int pageSize, string? at = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var results = new Dictionary<string, (string Text, bool IsError)>(StringComparer.Ordinal);
        var resultOnly = new HashSet<int>();
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i]["message"]?["content"] is not JsonArray content || content.Count == 0)
            {
                continue;
            }

            var all = true;
            foreach (var block in content)
            {
                if (block is JsonObject { } b && Str(b, "type") == "tool_result" && Str(b, "tool_use_id") is { } id)
                {
                    results[id] = (ResultText(b["content"]), b["is_error"]?.GetValueKind() == JsonValueKind.True);
                }
                else
                {
                    all = false;
                }
            }

            if (all)
            {
                resultOnly.Add(i);
            }
        }

        var shown = Enumerable.Range(0, messages.Count).Where(i => !resultOnly.Contains(i)).ToList();
        if (at is not null && shown.FindIndex(i => Str(messages[i], "uuid") == at) is >= 0 and var index)
        {
            offset = index - (index % pageSize);
        }

        offset = Math.Clamp(offset, 0, Math.Max(0, shown.Count - 1));
        var page = shown.Skip(offset).Take(pageSize).ToList();
        var called = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in shown)
        {
            if (messages[i]["message"]?["content"] is JsonArray content)
            {
                foreach (var block in content)
                {
                    if (block is JsonObject b && Str(b, "type") == "tool_use" && Str(b, "id") is { } id)
                    {
                        called.Add(id);
                    }
                }
            }
        }

        var uuids = new HashSet<string>(page.Select(i => Str(messages[i], "uuid") ?? ""), StringComparer.Ordinal);
        var (raw, agents) = ScanLines(transcript, uuids);
        // The last entry of each API message carries its usage (the others repeat it, or an earlier count of it).
        var lastOfMessage = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Count; i++)
        {
            if (Str(messages[i], "type") == "assistant" && messages[i]["message"] is JsonObject m && Str(m, "id") is { } messageId)
            {
                lastOfMessage[messageId] = i;
            }
        }

        var items = page.Select(i => Item(messages[i], results, called, raw, agents) with { Usage = UsageOf(messages[i], i, lastOfMessage) }).ToList();
        var lastCopied = shown.FindLastIndex(i => CopiedFrom(messages[i]) is not null);
        var forkPoint = lastCopied >= 0 && lastCopied + 1 < shown.Count ? Str(messages[shown[lastCopied + 1]], "uuid") : null;
        return new TranscriptModel(items, shown.Count, offset, forkPoint);
    }

    /// <summary>The parent's message an entry of a fork was copied from (<c>forkedFrom.messageUuid</c>), or null.</summary>
    internal static string? CopiedFrom(JsonObject entry) => entry["forkedFrom"] is JsonObject from ? Str(from, "messageUuid") : null;

    /// <summary>The usage an assistant entry reports, when it is the last entry of its API message (or has no message id).</summary>
    internal static TokenUsage? UsageOf(JsonObject entry, int index, IReadOnlyDictionary<string, int> lastOfMessage)
    {
        if (Str(entry, "type") != "assistant" || entry["message"] is not JsonObject message || message["usage"] is not JsonObject usage
            || (Str(message, "id") is { } id && lastOfMessage.TryGetValue(id, out var last) && last != index))
        {
            return null;
        }

        return new TokenUsage(Str(message, "model"), Count(usage, "input_tokens"), Count(usage, "output_tokens"), Count(usage, "cache_read_input_tokens"), Count(usage, "cache_creation_input_tokens"));

        static long Count(JsonObject usage, string name) => Number(usage[name]) is { } n and > 0 and < long.MaxValue ? (long)n : 0;
    }

    private static MessageItem Item(JsonObject message, Dictionary<string, (string Text, bool IsError)> results, HashSet<string> called,
        Dictionary<string, string> raw, Dictionary<string, string> agents)
    {
        var uuid = Str(message, "uuid") ?? "";
        var type = Str(message, "type") ?? "unknown";
        var blocks = new List<MessageBlock>();
        switch (message["message"]?["content"])
        {
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                blocks.Add(new TextBlock(Cut(text.GetValue<string>())));
                break;
            case JsonArray content:
                foreach (var node in content)
                {
                    if (node is JsonObject block)
                    {
                        blocks.Add(Block(block, results, called, agents));
                    }
                }

                break;
        }

        if (type == "system" && blocks.Count == 0 && SystemText(message) is { Length: > 0 } note)
        {
            blocks.Add(new TextBlock(Cut(note)));
        }

        return new MessageItem(uuid, type, Str(message, "timestamp"), blocks, message["isCompactSummary"]?.GetValueKind() == JsonValueKind.True,
            raw.TryGetValue(uuid, out var line) ? line : null, type == "system" ? Str(message, "subtype") : null, ForkedFrom: CopiedFrom(message));
    }

    private static MessageBlock Block(JsonObject block, Dictionary<string, (string Text, bool IsError)> results, HashSet<string> called, Dictionary<string, string> agents)
    {
        switch (Str(block, "type"))
        {
            case "text":
                return new TextBlock(Cut(Str(block, "text") ?? ""));
            case "thinking":
                return new ThinkingBlock(Cut(Str(block, "thinking") ?? ""));
            case "redacted_thinking":
                return new ThinkingBlock("(redacted)");
            case "tool_use":
                var id = Str(block, "id") ?? "";
                var found = results.TryGetValue(id, out var result);
                var name = Str(block, "name") ?? "tool";
                return new ToolCallBlock(id, name, Cut(Json(block["input"])), found ? result.Text : null, found && result.IsError,
                    agents.GetValueOrDefault(id), ToolViews.Of(name, block["input"], MaxShownChars));
            case "tool_result":
                var useId = Str(block, "tool_use_id") ?? "";
                return called.Contains(useId) ? new OtherBlock("tool_result", "(shown with its call)") : new ToolResultBlock(useId, ResultText(block["content"]), block["is_error"]?.GetValueKind() == JsonValueKind.True);
            case "image" when block["source"] is JsonObject source && Str(source, "type") == "base64" && Str(source, "media_type") is { } media && ImageTypes.Contains(media)
                && Str(source, "data") is { } data && IsBase64(data):
                return new ImageBlock(media, data);
            case var kind:
                return new OtherBlock(kind ?? "unknown", Cut(Json(block)));
        }
    }

    // The transcript's raw line of each wanted uuid, and which tool call started which subagent
    // (toolUseResult.agentId on the entry that carries the call's result).
    private static (Dictionary<string, string> Raw, Dictionary<string, string> Agents) ScanLines(ReadOnlySpan<byte> transcript, HashSet<string> wanted)
    {
        var raw = new Dictionary<string, string>(StringComparer.Ordinal);
        var agents = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!transcript.IsEmpty)
        {
            var end = transcript.IndexOf((byte)'\n');
            var line = end < 0 ? transcript : transcript[..end];
            transcript = end < 0 ? default : transcript[(end + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            if (Core.Storage.TranscriptUuids.Of(line) is { } uuid && wanted.Contains(uuid))
            {
                raw[uuid] = Cut(System.Text.Encoding.UTF8.GetString(line));
            }

            if (line.IndexOf("\"agentId\""u8) >= 0 && line.IndexOf("\"toolUseResult\""u8) >= 0)
            {
                MapAgent(line, agents);
            }
        }

        return (raw, agents);
    }

    private static void MapAgent(ReadOnlySpan<byte> line, Dictionary<string, string> agents)
    {
        try
        {
            if (JsonNode.Parse(line, documentOptions: EntryLimits.LineDocumentOptions) is not JsonObject entry
                || entry["toolUseResult"] is not JsonObject result || Str(result, "agentId") is not { } agentId
                || entry["message"]?["content"] is not JsonArray content)
            {
                return;
            }

            foreach (var block in content)
            {
                if (block is JsonObject b && Str(b, "type") == "tool_result" && Str(b, "tool_use_id") is { } id)
                {
                    agents[id] = agentId;
                }
            }
        }
        catch (JsonException)
        {
            // Not an entry the chain can use: no link.
        }
    }

    // What a system entry says: its content text, or a turn's duration.
    private static string? SystemText(JsonObject entry) =>
        Str(entry, "content") ?? (Number(entry["durationMs"]) is { } ms and >= 0 and < 1e12 ? $"Turn took {ms / 1000:0.#} s" : null);

    // A JSON number, however the node holds it (parsed, or made from a .NET number).
    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
        && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : null;

    private static string ResultText(JsonNode? content) => content switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => Cut(v.GetValue<string>()),
        JsonArray parts => Cut(string.Join("\n", parts.Select(p => p is JsonObject o && Str(o, "type") == "text" ? Str(o, "text") ?? "" : $"[{(p is JsonObject q ? Str(q, "type") : null) ?? "part"}]"))),
        _ => Cut(Json(content)),
    };

    // A node as indented JSON a person reads; a character that is invisible or reorders text (Links.IsHidden: bidi
    // controls, zero-width and other format characters) stays a \uXXXX escape, so a tool input cannot pass for
    // another. Outside strings the writer puts only spaces and newlines, which stay.
    private static string Json(JsonNode? node)
    {
        var json = node is null ? "null" : node.ToJsonString(Indented);
        if (!json.Any(c => c is not ('\n' or '\r') && Components.Links.IsHidden(c)))
        {
            return json;
        }

        var shown = new System.Text.StringBuilder(json.Length + 16);
        foreach (var c in json)
        {
            if (c is not ('\n' or '\r') && Components.Links.IsHidden(c))
            {
                shown.Append("\\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                shown.Append(c);
            }
        }

        return shown.ToString();
    }

    private static string Cut(string text) =>
        text.Length <= MaxShownChars ? text : string.Concat(text.AsSpan(0, MaxShownChars), $"\n… ({text.Length - MaxShownChars:N0} more characters: download the JSONL for all of it)");

    private static bool IsBase64(string data) => data.Length % 4 == 0 && data.All(c => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '=');

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
