using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// A transcript entry that takes part in the conversation graph (types user, assistant, progress, system,
/// attachment with a string <c>uuid</c>), with the envelope fields the SDK's chain logic reads. Relinking a
/// compaction boundary only replaces <see cref="ParentUuid"/>; <see cref="Node"/> stays the original entry.
/// </summary>
internal sealed record ChainEntry(JsonObject Node, string Uuid, string? ParentUuid, string Type)
{
    /// <summary>Entry types the SDK keeps in the graph.</summary>
    public static readonly HashSet<string> GraphTypes = ["user", "assistant", "progress", "system", "attachment"];

    /// <summary>
    /// Read as the fork will write it: not a sidechain, without the fields the SDK's fork clears (the SDK builds its
    /// graph of cleared copies; this reads the original entry as if it were one, without copying it).
    /// </summary>
    public bool ForkCleared { get; init; }

    public bool IsSidechain => !ForkCleared && JsText.Truthy(Node, "isSidechain");

    public bool HasTeam => !ForkCleared && JsText.Truthy(Node, "teamName");

    /// <summary>The <c>sourceToolAssistantUUID</c> of a tool-result entry (one of the fields a fork clears).</summary>
    public string? SourceToolAssistantUuid => ForkCleared ? null : JsText.Str(Node, "sourceToolAssistantUUID");

    public bool IsMeta => JsText.Truthy(Node, "isMeta");

    public string? Subtype => JsText.Str(Node, "subtype");

    public string? Timestamp => JsText.Str(Node, "timestamp");

    public bool IsUserOrAssistant => Type is "user" or "assistant";

    public bool IsCompactBoundary => Type == "system" && Subtype == "compact_boundary";

    /// <summary>The assistant <c>message.id</c> (the SDK's <c>r_</c>), shared by the split parts of one response.</summary>
    public string? AssistantMessageId => Type == "assistant" && Node["message"] is JsonObject m ? JsText.Str(m, "id") : null;

    /// <summary>Builds a chain entry from a parsed line, or null when the SDK would leave the line out of the graph.</summary>
    public static ChainEntry? From(JsonObject node)
    {
        var type = JsText.Str(node, "type");
        var uuid = JsText.Str(node, "uuid");
        if (type is null || uuid is null || !GraphTypes.Contains(type))
        {
            return null;
        }

        return new ChainEntry(node, uuid, JsText.Str(node, "parentUuid"), type);
    }

    /// <summary>String fields <paramref name="field"/> of <c>message.content</c> blocks of type <paramref name="blockType"/> (the SDK's <c>zp</c>).</summary>
    public List<string> BlockFields(string blockType, string field)
    {
        var result = new List<string>();
        if (Node["message"] is JsonObject m && m["content"] is JsonArray blocks)
        {
            foreach (var b in blocks)
            {
                if (b is JsonObject block && JsText.Str(block, "type") == blockType && JsText.Str(block, field) is { } v)
                {
                    result.Add(v);
                }
            }
        }

        return result;
    }

    /// <summary>A user entry with a parent that carries a <c>tool_result</c> block (the SDK's <c>UB</c>).</summary>
    public bool IsToolResult =>
        Type == "user" && !string.IsNullOrEmpty(ParentUuid) && Node["message"] is JsonObject m && m["content"] is JsonArray blocks &&
        blocks.Any(b => b is JsonObject o && JsText.Str(o, "type") == "tool_result");

    /// <summary>Reads a property as a JSON value kind-aware string, for equality checks like <c>agentId</c>.</summary>
    public string? RawProperty(string name) =>
        Node.TryGetPropertyValue(name, out var v) ? v?.ToJsonString() ?? "null" : null;

    /// <summary>The object at <c>compactMetadata.&lt;name&gt;</c>, if any.</summary>
    public JsonObject? CompactMetadata(string name) =>
        Node["compactMetadata"] is JsonObject cm && cm[name] is JsonObject o ? o : null;

    /// <summary>Strings of a JSON array, skipping non-strings.</summary>
    public static List<string?> StringsOf(JsonNode? node) =>
        node is JsonArray a ? a.Select(x => x is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null).ToList() : [];
}
