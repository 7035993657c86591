using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Hooks;

/// <summary>
/// What Claude Code sends a command hook on stdin (https://code.claude.com/docs/en/hooks, "Hook input"): every event
/// carries <c>session_id</c>, <c>transcript_path</c>, <c>cwd</c> and <c>hook_event_name</c>; <c>SubagentStop</c> adds
/// <c>agent_id</c> and <c>agent_transcript_path</c>. Other fields are ignored.
/// </summary>
/// <param name="SessionId">The session's id.</param>
/// <param name="TranscriptPath">The main transcript: <c>&lt;config&gt;/projects/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>.</param>
/// <param name="Event">The event's name (<c>Stop</c>, <c>SubagentStop</c>, <c>PreCompact</c>, <c>SessionEnd</c>, …).</param>
/// <param name="AgentTranscriptPath">A subagent's transcript (<c>SubagentStop</c>), or null.</param>
internal sealed record HookPayload(string SessionId, string TranscriptPath, string Event, string? AgentTranscriptPath)
{
    /// <summary>The events whose hooks push the session (installed by <c>sessions hooks install</c>).</summary>
    public static readonly IReadOnlyList<string> SyncEvents = ["Stop", "SubagentStop", "PreCompact", "SessionEnd"];

    /// <summary>Reads a payload; null (with why) when it is not one a hook can act on.</summary>
    public static HookPayload? Parse(string text, out string? why)
    {
        JsonObject? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject;
        }
        catch (JsonException ex)
        {
            why = $"the hook's input is not JSON ({ex.Message})";
            return null;
        }

        string? Str(string name) => node?[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
        if (node is null || Str("session_id") is not { } sessionId || Str("transcript_path") is not { } transcript)
        {
            why = "the hook's input has no session_id or transcript_path";
            return null;
        }

        why = null;
        return new HookPayload(sessionId, transcript, Str("hook_event_name") ?? "", Str("agent_transcript_path"));
    }
}
