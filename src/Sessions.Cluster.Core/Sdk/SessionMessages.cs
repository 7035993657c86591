using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// The messages of a session's live chain, as the SDK's <c>getSessionMessages</c> returns them: user and assistant
/// entries (and system entries when asked) on the chain, without meta, sidechain or team entries, shaped as
/// <c>SessionMessage</c> objects (<c>type</c>, <c>uuid</c>, <c>session_id</c>, <c>message</c>,
/// <c>parent_tool_use_id</c>, <c>parent_agent_id</c>, <c>timestamp</c>, …).
/// </summary>
public static partial class SessionMessages
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
    /// <param name="reuseEntries">
    /// Move each message's <c>message</c> object out of its entry instead of copying it (much faster on large
    /// transcripts); only for a caller that owns the entries and drops them afterwards.
    /// </param>
    public static List<JsonObject> Build(IReadOnlyList<JsonObject> entries, bool includeSystemMessages, int offset, int? limit, bool reuseEntries = false)
    {
        var graph = entries.Select(ChainEntry.From).OfType<ChainEntry>().ToList();
        var chain = ConversationGraph.Build(graph).Chain;
        var messages = chain.Where(e => Visible(e, includeSystemMessages)).Select(e => ToMessage(e, reuseEntries)).ToList();
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
        var toolUseId = JsText.Str(metadata, "toolUseId") is { } t && RunIdPattern().IsMatch(t) ? t : null;
        var parentAgentId = JsText.Str(metadata, "parentAgentId") is { } a && AgentIdPattern().IsMatch(a) ? a : null;
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
            var m = ToMessage(e, false);
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

    // The SDK's GA (0.3.332): fields the entry lacks are left out, as JSON.stringify leaves out undefined.
    private static JsonObject ToMessage(ChainEntry e, bool moveMessage)
    {
        var n = e.Node;
        var result = new JsonObject { ["type"] = e.Type, ["uuid"] = e.Uuid };
        CopyIfPresent(n, "sessionId", result, "session_id");
        var hasMessage = n.TryGetPropertyValue("message", out var message);
        if (hasMessage)
        {
            // Its place in the key order; a moved object comes last, once nothing reads the entry any more.
            result["message"] = moveMessage ? null : message?.DeepClone();
        }

        result["parent_tool_use_id"] = null;
        result["parent_agent_id"] = null;
        if (JsText.IsTrue(n, "interruptedByShutdown"))
        {
            result["interruptedByShutdown"] = true;
        }

        if (JsText.Str(n, "toolDenialUnanswered") is "stream-closed")
        {
            result["toolDenialUnanswered"] = "stream-closed";
        }

        if (ToolResultMeta(e) is { Count: > 0 } meta)
        {
            result["tool_result_meta"] = meta;
        }

        if (JsText.IsTrue(n, "isCompactSummary"))
        {
            result["isCompactSummary"] = true;
        }

        if (JsText.IsTrue(n, "isMeta") || JsText.IsTrue(n, "isCompactSummary") || JsText.IsTrue(n, "isVisibleInTranscriptOnly"))
        {
            result["is_meta"] = true;
        }

        if (JsText.IsTrue(n, "isQueuedCommand"))
        {
            result["isQueuedCommand"] = true;
        }

        if (JsText.IsTrue(n, "isCompletedLocalCommand"))
        {
            result["isCompletedLocalCommand"] = true;
        }

        CopyIfPresent(n, "timestamp", result, "timestamp");
        if (n.TryGetPropertyValue("origin", out var origin) && origin is not null && Origin(origin) is { } shown)
        {
            result["origin"] = shown;
        }

        if (moveMessage && hasMessage && message is not null)
        {
            n.Remove("message");
            result["message"] = message;
        }

        return result;
    }

    private static void CopyIfPresent(JsonObject from, string name, JsonObject to, string as_)
    {
        if (from.TryGetPropertyValue(name, out var value))
        {
            to[as_] = value?.DeepClone();
        }
    }

    // The SDK's yR, kept when truthy: a task notification keeps only its known fields (runId when well formed).
    private static JsonNode? Origin(JsonNode origin)
    {
        if (origin is not JsonObject o || JsText.Str(o, "kind") != "task-notification")
        {
            return JsTruthy(origin) ? origin.DeepClone() : null;
        }

        var result = new JsonObject { ["kind"] = "task-notification" };
        foreach (var field in new[] { "subkind", "fireReason", "producer" })
        {
            CopyIfPresent(o, field, result, field);
        }

        if (JsText.Str(o, "runId") is { } runId && RunIdPattern().IsMatch(runId))
        {
            result["runId"] = runId;
        }

        if (JsText.Str(o, "taskKind") == "mcp-task")
        {
            result["taskKind"] = "mcp-task";
        }

        return result;
    }

    private static bool JsTruthy(JsonNode node) => node is not JsonValue v || v.GetValueKind() switch
    {
        JsonValueKind.False or JsonValueKind.Null => false,
        JsonValueKind.String => v.GetValue<string>().Length > 0,
        JsonValueKind.Number => v.GetValue<double>() is var d && d != 0 && !double.IsNaN(d),
        _ => true,
    };

    // The SDK's tool_result_meta: for a user entry answering tool calls, the denial kind, the end of the call and
    // plugin rewrites per tool_use_id (a denial kind and call end only when the entry answers exactly one call).
    private static JsonArray? ToolResultMeta(ChainEntry e)
    {
        var n = e.Node;
        var ids = new List<string?>();
        if (n["message"] is JsonObject m && m.TryGetPropertyValue("content", out var content) && content is JsonArray blocks)
        {
            foreach (var b in blocks)
            {
                if (b is JsonObject block && JsText.Str(block, "type") == "tool_result")
                {
                    ids.Add(block.TryGetPropertyValue("tool_use_id", out var id) && id is JsonValue iv && iv.GetValueKind() == JsonValueKind.String ? iv.GetValue<string>() : null);
                }
            }
        }

        var denial = ids.Count == 1 && JsText.Str(n, "toolDenialKind") is { } kind && DenialKinds.Contains(kind) ? kind : null;
        var ended = ids.Count == 1 && JsText.Str(n, "toolCallEnded") is "not_started" ? "not_started" : null;
        var rewritten = JsTruthy(n, "toolResultRewritten");
        if (denial is null && ended is null && !rewritten)
        {
            return null;
        }

        var result = new JsonArray();
        foreach (var id in ids.OfType<string>())
        {
            var meta = new JsonObject { ["id"] = id };
            if (denial is not null)
            {
                meta["non_execution_kind"] = denial;
            }

            if (ended is not null)
            {
                meta["call_ended"] = ended;
            }

            if (rewritten)
            {
                meta["rewritten_by_plugin"] = true;
            }

            result.Add(meta);
        }

        return result;
    }

    private static bool JsTruthy(JsonObject obj, string name) => obj.TryGetPropertyValue(name, out var v) && v is not null && JsTruthy(v);

    private static readonly HashSet<string> DenialKinds = ["user-rejected", "permission-rule", "automode-blocked", "automode-unavailable", "automode-parsing-error", "interrupted", "cancelled"];

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_.:-]{1,128}$")]
    private static partial System.Text.RegularExpressions.Regex RunIdPattern();

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial System.Text.RegularExpressions.Regex AgentIdPattern();
}
