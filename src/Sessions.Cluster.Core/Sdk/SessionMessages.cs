using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// The messages of a session's live chain, as the SDK's <c>getSessionMessages</c> returns them: user and assistant
/// entries (and system entries when asked) on the chain, without meta, sidechain or team entries, shaped as
/// <c>SessionMessage</c> objects (<c>type</c>, <c>uuid</c>, <c>session_id</c>, <c>message</c>,
/// <c>parent_tool_use_id</c>, <c>parent_agent_id</c>, <c>timestamp</c>, …).
/// </summary>
public static class SessionMessages
{
    /// <summary>Origin kinds whose meta messages are still shown (the SDK's <c>UT</c>).</summary>
    private static readonly HashSet<string> ShownMetaOrigins = ["channel", "observer", "observer-activity", "slack-ping", "voice-call", "peer"];

    /// <summary>
    /// The chain's messages of <paramref name="entries"/> (all parsed lines of a transcript, in file order).
    /// </summary>
    /// <param name="entries">Parsed transcript lines.</param>
    /// <param name="includeSystemMessages">Also include system entries on the chain (the SDK's option of that name).</param>
    /// <param name="offset">Messages to skip, ≥ 0.</param>
    /// <param name="limit">Most messages to return; null or ≤ 0 means all.</param>
    public static List<JsonObject> Build(IReadOnlyList<JsonObject> entries, bool includeSystemMessages, int offset, int? limit)
    {
        var graph = entries.Select(ChainEntry.From).OfType<ChainEntry>().ToList();
        var chain = ConversationGraph.Build(graph).Chain;
        var messages = chain.Where(e => Visible(e, includeSystemMessages)).Select(ToMessage).ToList();
        IEnumerable<JsonObject> page = messages.Skip(offset);
        if (limit is > 0)
        {
            page = page.Take(limit.Value);
        }

        return page.ToList();
    }

    /// <summary>
    /// The messages of a subagent transcript, as the SDK's <c>getSubagentMessages</c> returns them: the chain walked up
    /// from the last user/assistant entry (sidechain and meta entries kept), with <c>parent_tool_use_id</c> and
    /// <c>parent_agent_id</c> from the agent's metadata (the last <c>agent_metadata</c> entry, which the SDK's import
    /// stores from <c>agent-&lt;id&gt;.meta.json</c>).
    /// </summary>
    public static List<JsonObject> BuildSubagent(IReadOnlyList<JsonObject> entries, int offset, int? limit)
    {
        var metadata = entries.LastOrDefault(e => JsText.Str(e, "type") == "agent_metadata");
        var toolUseId = JsText.Str(metadata, "toolUseId");
        var parentAgentId = JsText.Str(metadata, "parentAgentId");
        var graph = entries
            .Where(e => JsText.Str(e, "type") is "user" or "assistant" or "attachment" && JsText.Str(e, "uuid") is not null)
            .Select(e => new ChainEntry(e, JsText.Str(e, "uuid")!, JsText.Str(e, "parentUuid"), JsText.Str(e, "type")!))
            .ToList();
        var byUuid = new Dictionary<string, ChainEntry>(StringComparer.Ordinal);
        foreach (var e in graph)
        {
            byUuid[e.Uuid] = e;
        }

        var chain = new List<ChainEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var e = graph.LastOrDefault(x => x.IsUserOrAssistant); e is not null && seen.Add(e.Uuid); e = e.ParentUuid is { Length: > 0 } p ? byUuid.GetValueOrDefault(p) : null)
        {
            chain.Add(e);
        }

        chain.Reverse();
        IEnumerable<JsonObject> messages = chain.Where(e => e.IsUserOrAssistant).Select(e =>
        {
            var m = ToMessage(e);
            m["parent_tool_use_id"] = toolUseId;
            m["parent_agent_id"] = parentAgentId;
            return m;
        }).Skip(offset);
        if (limit is > 0)
        {
            messages = messages.Take(limit.Value);
        }

        return messages.ToList();
    }

    private static bool Visible(ChainEntry e, bool includeSystem)
    {
        if (!(e.IsUserOrAssistant || (e.Type == "system" && includeSystem)))
        {
            return false;
        }

        if (ClosesQuietTurn(e))
        {
            return false;
        }

        if (e.IsMeta && !(e.Node["origin"] is JsonObject origin && ShowsMeta(origin)))
        {
            return false;
        }

        return !e.IsSidechain && !e.HasTeam;
    }

    private static bool ShowsMeta(JsonObject origin)
    {
        var kind = JsText.Str(origin, "kind");
        return kind is not null && ShownMetaOrigins.Contains(kind);
    }

    // The SDK's W$: an assistant turn closer whose only text is empty or "No response requested." is hidden.
    private static bool ClosesQuietTurn(ChainEntry e)
    {
        if (e.Type != "assistant" || !JsText.IsTrue(e.Node, "closesQuietTurn") || e.Node["message"] is not JsonObject m || m["content"] is not JsonArray content)
        {
            return false;
        }

        string? text = content.Count == 1 && content[0] is JsonObject b && JsText.Str(b, "type") == "text" ? JsText.Str(b, "text") : null;
        return text is "" or "No response requested.";
    }

    private static JsonObject ToMessage(ChainEntry e)
    {
        var n = e.Node;
        var result = new JsonObject
        {
            ["type"] = e.Type,
            ["uuid"] = e.Uuid,
            ["session_id"] = n["sessionId"]?.DeepClone(),
            ["message"] = n["message"]?.DeepClone(),
            ["parent_tool_use_id"] = null,
            ["parent_agent_id"] = null,
        };
        if (JsText.IsTrue(n, "interruptedByShutdown"))
        {
            result["interruptedByShutdown"] = true;
        }

        if (JsText.IsTrue(n, "isCompactSummary"))
        {
            result["isCompactSummary"] = true;
        }

        if (JsText.IsTrue(n, "isMeta") || JsText.IsTrue(n, "isCompactSummary") || JsText.IsTrue(n, "isVisibleInTranscriptOnly"))
        {
            result["is_meta"] = true;
        }

        if (n.TryGetPropertyValue("timestamp", out var ts) && ts is not null)
        {
            result["timestamp"] = ts.DeepClone();
        }

        if (n["origin"] is JsonObject origin && origin["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String)
        {
            result["origin"] = origin.DeepClone();
        }

        return result;
    }
}
