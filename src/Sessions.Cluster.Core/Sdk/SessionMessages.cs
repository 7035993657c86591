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
        var messages = VisibleChain(graph, includeSystemMessages).ConvertAll(x => ToMessage(x.Entry, reuseEntries, x.Completed));
        IEnumerable<JsonObject> page = messages.Skip(offset);
        if (limit is > 0)
        {
            page = page.Take(limit.Value);
        }

        return page.ToList();
    }

    // The chain's entries that become messages, in order, each with whether it is a completed local command.
    internal static List<(ChainEntry Entry, bool Completed)> VisibleChain(IReadOnlyList<ChainEntry> graph, bool includeSystemMessages)
    {
        var chain = ConversationGraph.Build(graph).Chain;
        var completed = CompletedLocalCommands(chain);
        return chain.Select((e, i) => (Entry: e, Completed: completed.Contains(i))).Where(x => Visible(x.Entry, includeSystemMessages)).ToList();
    }

    /// <summary>
    /// The messages of a subagent transcript, as the SDK's <c>getSubagentMessages</c> (0.3.337) returns them: the chain
    /// walked up from the last user/assistant entry (sidechain and meta entries kept), with the side branches of
    /// parallel tool calls put back as on a main transcript (the SDK's <c>$ze</c> then <c>Lk</c>; a cancelled or
    /// shutdown-interrupted tool result that a later entry answers again is not put back), and with
    /// <c>parent_tool_use_id</c> and <c>parent_agent_id</c> from the agent's metadata (the last <c>agent_metadata</c>
    /// entry, which the SDK's import stores from <c>agent-&lt;id&gt;.meta.json</c>).
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
        var byUuid = new OrderedMap();
        foreach (var e in graph)
        {
            byUuid.Set(e.Uuid, e);
        }

        var chain = new List<ChainEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var e = graph.LastOrDefault(x => x.IsUserOrAssistant); e is not null && seen.Add(e.Uuid); e = e.ParentUuid is { Length: > 0 } p ? byUuid.Get(p) : null)
        {
            chain.Add(e);
        }

        chain.Reverse();
        DropAnsweredCancellations(byUuid);
        chain = ConversationGraph.MergeSplitResponses(byUuid, chain, seen);
        var completed = CompletedLocalCommands(chain);
        IEnumerable<JsonObject> messages = chain.Select((e, i) => (Entry: e, Completed: completed.Contains(i))).Where(x => x.Entry.IsUserOrAssistant).Select(x =>
        {
            var m = ToMessage(x.Entry, false, x.Completed);
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

    // The SDK's tBe: after a local command's caveat (a meta user entry), the command's record and its output entries,
    // up to the next assistant entry, are marked isCompletedLocalCommand. Indexes into the chain.
    private static HashSet<int> CompletedLocalCommands(List<ChainEntry> chain)
    {
        var completed = new HashSet<int>();
        for (var o = 0; o < chain.Count; o++)
        {
            if (chain[o].Type != "user" || !JsText.Truthy(chain[o].Node, "isMeta") || LocalCommandPart(chain[o]) != "caveat")
            {
                continue;
            }

            var recorded = false;
            for (var i = o + 1; i < chain.Count; i++)
            {
                var a = chain[i];
                if (a.Type == "assistant")
                {
                    break;
                }

                if (a.Type != "user" || JsText.Truthy(a.Node, "isMeta"))
                {
                    continue;
                }

                var part = LocalCommandPart(a);
                if (part == "record" && !recorded)
                {
                    recorded = true;
                }
                else if (part != "output" || !recorded)
                {
                    break;
                }

                completed.Add(i);
            }
        }

        return completed;
    }

    // The SDK's lk: which part of a local command a user entry's text (its last text block) is, by its opening tag.
    private static string? LocalCommandPart(ChainEntry e)
    {
        if (e.Node.ContainsKey("promptSource"))
        {
            return null;
        }

        var content = (e.Node["message"] as JsonObject)?["content"];
        var text = content switch
        {
            JsonArray blocks => blocks.LastOrDefault(b => b is JsonObject o && JsText.Str(o, "type") == "text") is JsonObject last ? JsText.Str(last, "text") : null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => null,
        };
        return text switch
        {
            null => null,
            _ when text.StartsWith("<command-name>", StringComparison.Ordinal) => "record",
            _ when text.StartsWith("<local-command-stdout>", StringComparison.Ordinal) || text.StartsWith("<local-command-stderr>", StringComparison.Ordinal) => "output",
            _ when text.StartsWith("<local-command-caveat>", StringComparison.Ordinal) => "caveat",
            _ => null,
        };
    }

    // The SDK's $ze (0.3.337): an entry whose tool call was cancelled or interrupted by a shutdown, and whose every
    // tool result is answered by another entry (or a later such entry), is left out of the side branches.
    private static void DropAnsweredCancellations(OrderedMap byUuid)
    {
        var answered = new HashSet<string>(StringComparer.Ordinal);
        var cancelled = new List<ChainEntry>();
        foreach (var e in byUuid.Values)
        {
            if (JsText.Str(e.Node, "toolDenialKind") == "cancelled" || JsText.IsTrue(e.Node, "interruptedByShutdown"))
            {
                cancelled.Add(e);
            }
            else
            {
                answered.UnionWith(e.BlockFields("tool_result", "tool_use_id"));
            }
        }

        for (var i = cancelled.Count - 1; i >= 0; i--)
        {
            var ids = cancelled[i].BlockFields("tool_result", "tool_use_id");
            if (ids.Count > 0 && ids.All(answered.Contains))
            {
                byUuid.Remove(cancelled[i].Uuid);
            }

            answered.UnionWith(ids);
        }
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
}
