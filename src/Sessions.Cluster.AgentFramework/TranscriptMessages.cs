using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Sessions.Cluster.AgentFramework;

/// <summary>
/// Agent Framework chat messages as Claude Code transcript entries, and back. Each message becomes one entry of the shape
/// Claude Code writes (<c>type</c> user/assistant/system, <c>uuid</c>, <c>parentUuid</c> chaining it to the one before,
/// <c>sessionId</c>, <c>timestamp</c>, <c>message {role, content}</c> with <c>text</c>, <c>thinking</c>,
/// <c>tool_use</c>, <c>tool_result</c> and <c>image</c> blocks), so the console, search, forks and the Agent SDK's own
/// readers understand it; the message itself rides along whole under <see cref="MessageField"/> (Microsoft.Extensions.AI's
/// JSON), so it comes back equal, additional properties and all. Entries written by Claude Code (no such field) are read
/// from their Claude shape.
/// </summary>
public static class TranscriptMessages
{
    /// <summary>The entry field holding the Agent Framework message as written (Microsoft.Extensions.AI's JSON).</summary>
    public const string MessageField = "agentFrameworkMessage";

    // Microsoft.Extensions.AI's JSON, reading as deep as the server accepts an entry (256 levels and its envelope): a
    // tool input Claude Code wrote 100 levels deep is read, not refused.
    private static readonly JsonSerializerOptions MessageJson = new(AIJsonUtilities.DefaultOptions) { MaxDepth = 264 };

    /// <summary>The entries for <paramref name="messages"/>, in order, the first chained to <paramref name="parentUuid"/>.</summary>
    /// <param name="messages">The messages; each entry gets a fresh uuid (a message's own <c>MessageId</c>, which a model may
    /// repeat across messages, stays in the message field: the store skips an entry whose uuid it has).</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="parentUuid">The uuid of the entry they follow, or null for the first of a session.</param>
    /// <param name="now">The time for messages without <c>CreatedAt</c>.</param>
    /// <returns>Each entry as one JSON line, and the last entry's uuid.</returns>
    public static (List<string> Lines, string? LastUuid) ToEntries(IEnumerable<ChatMessage> messages, string sessionId, string? parentUuid, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var lines = new List<string>();
        foreach (var message in messages)
        {
            var uuid = Guid.NewGuid().ToString();
            var entry = new JsonObject
            {
                ["type"] = TypeOf(message.Role),
                ["uuid"] = uuid,
                ["parentUuid"] = parentUuid,
                ["sessionId"] = sessionId,
                ["timestamp"] = (message.CreatedAt ?? now).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["isSidechain"] = false,
                ["userType"] = "external",
            };
            if (message.Role == ChatRole.System)
            {
                entry["subtype"] = "informational";
                entry["content"] = message.Text;
            }
            else
            {
                entry["message"] = new JsonObject { ["role"] = message.Role == ChatRole.Assistant ? "assistant" : "user", ["content"] = Blocks(message) };
            }

            entry[MessageField] = JsonSerializer.SerializeToNode(message, MessageJson);
            lines.Add(entry.ToJsonString());
            parentUuid = uuid;
        }

        return (lines, parentUuid);
    }

    /// <summary>
    /// The conversation a transcript holds: the chain of user, assistant and system entries from the last one back through
    /// <c>parentUuid</c> (what the model sees: a Claude Code compaction ends it at its boundary), oldest first, each entry
    /// as its message.
    /// </summary>
    /// <param name="transcript">The transcript's JSONL.</param>
    /// <returns>The messages, and the last entry's uuid (for the next message's <c>parentUuid</c>), or null when there is none.</returns>
    public static (List<ChatMessage> Messages, string? LastUuid) FromTranscript(ReadOnlySpan<byte> transcript)
    {
        var chain = Chain(transcript);
        var messages = new List<ChatMessage>(chain.Count);
        foreach (var entry in chain)
        {
            if (FromEntry(entry) is { } message)
            {
                messages.Add(message);
            }
        }

        return (messages, chain.Count == 0 ? null : Str(chain[^1]["uuid"]));
    }

    // The user, assistant and system entries from the last one back through parentUuid, oldest first.
    private static List<JsonObject> Chain(ReadOnlySpan<byte> transcript)
    {
        var entries = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        string? last = null;
        foreach (var line in System.Text.Encoding.UTF8.GetString(transcript).Split('\n'))
        {
            if (line.Length == 0 || Parse(line) is not { } entry || Str(entry["uuid"]) is not { } uuid
                || Str(entry["type"]) is not ("user" or "assistant" or "system") || entry["isSidechain"]?.GetValueKind() == JsonValueKind.True)
            {
                continue;
            }

            entries[uuid] = entry;
            last = uuid;
        }

        var chain = new List<JsonObject>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        for (var at = last; at is not null && visited.Add(at) && entries.TryGetValue(at, out var entry); at = Str(entry["parentUuid"]))
        {
            chain.Add(entry);
        }

        chain.Reverse();
        return chain;
    }

    /// <summary>The uuids of the transcript's conversation (see <see cref="FromTranscript"/>), oldest first.</summary>
    public static List<string> ChainUuids(ReadOnlySpan<byte> transcript) => [.. Chain(transcript).Select(e => Str(e["uuid"])!)];

    /// <summary>One entry as a message: the message written with it, else one read from its Claude shape; null for an entry with nothing to say.</summary>
    public static ChatMessage? FromEntry(JsonObject entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry[MessageField] is JsonObject written)
        {
            try
            {
                if (written.Deserialize<ChatMessage>(MessageJson) is { } message)
                {
                    return message;
                }
            }
            catch (JsonException)
            {
                // Not a message this version reads: its Claude shape instead.
            }
        }

        var uuid = Str(entry["uuid"]);
        var at = Str(entry["timestamp"]) is { } ts && DateTimeOffset.TryParse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : (DateTimeOffset?)null;
        if (Str(entry["type"]) == "system")
        {
            return Str(entry["content"]) is { Length: > 0 } note ? new ChatMessage(ChatRole.System, note) { MessageId = uuid, CreatedAt = at } : null;
        }

        var role = Str(entry["message"]?["role"]) == "assistant" ? ChatRole.Assistant : ChatRole.User;
        var contents = new List<AIContent>();
        switch (entry["message"]?["content"])
        {
            case JsonValue text when Str(text) is { } s:
                contents.Add(new TextContent(s));
                break;
            case JsonArray blocks:
                foreach (var block in blocks.OfType<JsonObject>())
                {
                    if (ContentOf(block) is { } content)
                    {
                        contents.Add(content);
                    }
                }

                break;
        }

        if (contents.Count == 0)
        {
            return null;
        }

        // A user entry of tool results is the tool's answer.
        role = role == ChatRole.User && contents.All(c => c is FunctionResultContent) ? ChatRole.Tool : role;
        return new ChatMessage(role, contents) { MessageId = uuid, CreatedAt = at };
    }

    private static string TypeOf(ChatRole role) => role == ChatRole.Assistant ? "assistant" : role == ChatRole.System ? "system" : "user";

    // The message's content as Claude content blocks; what has no Claude shape stays only in the message field.
    private static JsonArray Blocks(ChatMessage message)
    {
        var blocks = new JsonArray();
        foreach (var content in message.Contents)
        {
            JsonObject? block = content switch
            {
                TextContent t => new JsonObject { ["type"] = "text", ["text"] = t.Text },
                TextReasoningContent r => new JsonObject { ["type"] = "thinking", ["thinking"] = r.Text, ["signature"] = r.ProtectedData ?? "" },
                FunctionCallContent call => new JsonObject
                {
                    ["type"] = "tool_use", ["id"] = call.CallId, ["name"] = call.Name,
                    ["input"] = call.Arguments is null ? new JsonObject() : JsonSerializer.SerializeToNode(call.Arguments, MessageJson),
                },
                FunctionResultContent result => new JsonObject
                {
                    ["type"] = "tool_result", ["tool_use_id"] = result.CallId, ["content"] = ResultText(result.Result),
                    ["is_error"] = result.Exception is not null,
                },
                DataContent data when data.HasTopLevelMediaType("image") => new JsonObject
                {
                    ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = data.MediaType, ["data"] = data.Base64Data.ToString() },
                },
                DataContent data => new JsonObject
                {
                    ["type"] = "document", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = data.MediaType, ["data"] = data.Base64Data.ToString() },
                },
                UriContent uri => new JsonObject { ["type"] = "text", ["text"] = uri.Uri.ToString() },
                _ => null,
            };
            if (block is not null)
            {
                blocks.Add(block);
            }
        }

        return blocks;
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString() ?? "",
        _ => JsonSerializer.Serialize(result, MessageJson),
    };

    private static AIContent? ContentOf(JsonObject block) => Str(block["type"]) switch
    {
        "text" when Str(block["text"]) is { } text => new TextContent(text),
        "thinking" when Str(block["thinking"]) is { } thinking => new TextReasoningContent(thinking),
        "tool_use" when Str(block["id"]) is { } id => new FunctionCallContent(id, Str(block["name"]) ?? "tool",
            block["input"] is JsonObject input ? input.Deserialize<Dictionary<string, object?>>(MessageJson) : null),
        "tool_result" when Str(block["tool_use_id"]) is { } id => new FunctionResultContent(id, block["content"] switch
        {
            JsonValue v when Str(v) is { } s => s,
            JsonArray parts => string.Join("\n", parts.OfType<JsonObject>().Select(p => Str(p["text"])).OfType<string>()),
            var other => other?.ToJsonString(),
        }),
        "image" when block["source"] is JsonObject source && Str(source["type"]) == "base64" && Str(source["data"]) is { } data && Str(source["media_type"]) is { } media
            => new DataContent($"data:{media};base64,{data}"),
        _ => null,
    };

    private static JsonObject? Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line, documentOptions: new JsonDocumentOptions { MaxDepth = 264 }) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
