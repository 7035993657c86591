using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>How one chain entry becomes a <c>SessionMessage</c> (the SDK's <c>N_</c>, 0.3.337).</summary>
public static partial class SessionMessages
{
    private static readonly HashSet<string> DenialKinds = ["user-rejected", "permission-rule", "automode-blocked", "automode-unavailable", "automode-parsing-error", "interrupted", "cancelled"];

    private static readonly HashSet<string> FileRefusalReasons =
        ["changed_since_read", "not_read", "text_not_found", "text_repeated", "no_change", "file_not_found", "folder_not_found", "path_not_found", "too_large", "part_too_large", "is_folder"];

    private static readonly HashSet<string> CheckFailures = ["timed_out", "rate_limited", "overloaded", "server_error", "connection_failed", "response_ended", "other"];

    private static readonly HashSet<string> RemovalRisks = ["top_folder", "working_folder", "variable_target", "command_output", "unknown_target", "unread_command"];

    private static readonly HashSet<string> InputChangeSources = ["mod", "settings-hook", "permission-answer"];

    // Fields the entry lacks are left out, as JSON.stringify leaves out undefined; the order is the SDK's.
    internal static JsonObject ToMessage(ChainEntry e, bool moveMessage, bool completedLocalCommand)
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

        if (e.Type == "assistant" && JsText.Str(n, "namesPlanFile") is "in_default_directory" or "in_project" && message is JsonObject m && m["content"] is JsonArray { Count: 1 })
        {
            result["names_plan_file"] = JsText.Str(n, "namesPlanFile");
        }

        if (JsText.IsTrue(n, "isCompactSummary"))
        {
            result["isCompactSummary"] = true;
        }

        if (JsText.IsTrue(n, "isMeta") || JsText.IsTrue(n, "isCompactSummary") || JsText.IsTrue(n, "isVisibleInTranscriptOnly"))
        {
            result["is_meta"] = true;
        }

        foreach (var flag in new[] { "isQueuedCommand", "resultEndsInWaitingNote" })
        {
            if (JsText.IsTrue(n, flag))
            {
                result[flag] = true;
            }
        }

        if (completedLocalCommand || JsText.IsTrue(n, "isCompletedLocalCommand"))
        {
            result["isCompletedLocalCommand"] = true;
            if (JsText.IsTrue(n, "noCommandRan"))
            {
                result["noCommandRan"] = true;
            }
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

    // The SDK's zR, kept when truthy: a task notification keeps only its known fields (runId when well formed).
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

        if (o["failure"] is JsonObject failure && JsText.Str(failure, "message") is { } message && JsText.Str(failure, "details") is { } details)
        {
            result["failure"] = new JsonObject { ["message"] = message, ["details"] = details };
        }

        if (JsText.Str(o, "taskKind") == "mcp-task")
        {
            result["taskKind"] = "mcp-task";
        }

        if (o["turnLimit"] is JsonObject turnLimit && JsText.Str(turnLimit, "note") is { } note && Integer(turnLimit["turns"], safe: false) is { } turns)
        {
            result["turnLimit"] = new JsonObject { ["turns"] = turns, ["note"] = note };
        }

        if (JsText.Str(o, "noReportNote") is { } noReport)
        {
            result["noReportNote"] = noReport;
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

    // A JSON number that is an integer (Number.isInteger; Number.isSafeInteger when safe), as JSON.stringify writes it.
    private static JsonNode? Integer(JsonNode? node, bool safe)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number)
        {
            return null;
        }

        var d = v.GetValue<double>();
        if (Math.Floor(d) != d || double.IsInfinity(d))
        {
            return null;
        }

        if (Math.Abs(d) <= 9007199254740991d)
        {
            return JsonValue.Create((long)d);
        }

        return safe ? null : JsonValue.Create(d);
    }

    // The SDK's tool_result_meta: for a user entry answering exactly one tool call, why it did not run (denial kind,
    // call end, who refused it, the remedy offered, a refused file edit, invalid or changed input); plugin rewrites for
    // every answered call.
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

        var one = ids.Count == 1;
        var rewritten = JsText.Truthy(n, "toolResultRewritten");
        var denial = one && JsText.Str(n, "toolDenialKind") is { } kind && DenialKinds.Contains(kind) ? kind : null;
        var ended = one && JsText.Str(n, "toolCallEnded") is "not_started" ? "not_started" : null;
        var fileRefusal = one && !rewritten ? FileRefusal(n["toolResultFileRefusal"]) : null;
        var refusedBy = one ? RefusedBy(n) : null;
        var remedy = one && !rewritten ? Remedy(n["toolResultRemedy"]) : null;
        var inputInvalid = one && JsText.IsTrue(n, "toolInputInvalid") && !rewritten;
        var inputChanged = one && n["executedInput"] is JsonObject executed && executed["sources"] is JsonArray { Count: > 0 } sources
            && sources.All(s => s is JsonValue sv && sv.GetValueKind() == JsonValueKind.String && InputChangeSources.Contains(sv.GetValue<string>()));
        if (denial is null && ended is null && refusedBy is null && remedy is null && fileRefusal is null && !inputInvalid && !rewritten && !inputChanged)
        {
            return null;
        }

        var result = new JsonArray();
        foreach (var id in ids.OfType<string>())
        {
            var meta = new JsonObject { ["id"] = id };
            Add(meta, "non_execution_kind", denial);
            Add(meta, "call_ended", ended);
            Add(meta, "refused_by", refusedBy);
            Add(meta, "remedy", remedy?.DeepClone());
            Add(meta, "file_refusal", fileRefusal?.DeepClone());
            Add(meta, "input_invalid", inputInvalid ? true : null);
            Add(meta, "rewritten_by_plugin", rewritten ? true : null);
            Add(meta, "input_changed", inputChanged ? true : null);
            result.Add(meta);
        }

        return result;

        static void Add(JsonObject to, string name, JsonNode? value)
        {
            if (value is not null)
            {
                to[name] = value;
            }
        }
    }

    // The SDK's L$: who refused a tool call (auto mode, a hook, "don't ask" mode, a rule), from the entry's
    // permissionDecision; nothing for a host's denial.
    private static string? RefusedBy(JsonObject n)
    {
        if (JsText.Truthy(n, "toolDenialFromHost"))
        {
            return null;
        }

        if (JsText.Str(n, "toolDenialKind") is "automode-blocked" or "automode-unavailable" or "automode-parsing-error")
        {
            return "auto_mode";
        }

        var decision = n["permissionDecision"] as JsonObject;
        if (JsText.Str(decision, "decision") != "reject")
        {
            return null;
        }

        var reasonType = JsText.Str(decision, "reasonType");
        if (reasonType == "hook" || JsText.Str(decision, "source") == "hook")
        {
            return "hook";
        }

        if (JsText.Truthy(n, "toolDenialAfterRun"))
        {
            return null;
        }

        if (reasonType == "mode" && JsText.Str(decision, "reasonCode") == "mode:dontAsk")
        {
            return "dont_ask";
        }

        return (reasonType == "rule" || (reasonType == "subcommandResults" && JsText.Str(decision, "ruleSource") is not null)) && !JsText.Truthy(decision, "notByDenyRule")
            ? "rule"
            : null;
    }

    // The SDK's LH, NH, MH, UH: the remedy offered for a refused call, with only its known fields.
    private static JsonObject? Remedy(JsonNode? node)
    {
        var o = node as JsonObject;
        return JsText.Str(o, "kind") switch
        {
            "allow_rule" when JsText.Str(o, "tool") is { } tool && ToolNamePattern().IsMatch(tool) => new JsonObject { ["kind"] = "allow_rule", ["tool"] = tool },
            "check_failed" when JsText.Str(o, "check_failure") is { } f && CheckFailures.Contains(f) => new JsonObject { ["kind"] = "check_failed", ["check_failure"] = f },
            "advice_to_claude" => JsText.IsTrue(o, "long_sleep") ? new JsonObject { ["kind"] = "advice_to_claude", ["long_sleep"] = true } : new JsonObject { ["kind"] = "advice_to_claude" },
            "removal_refused" when JsText.Str(o, "removal_risk") is { } r && RemovalRisks.Contains(r) => new JsonObject { ["kind"] = "removal_refused", ["removal_risk"] = r },
            _ => null,
        };
    }

    // The SDK's uG: why a file edit was refused, with the count, size or suggestion its reason carries.
    private static JsonObject? FileRefusal(JsonNode? node)
    {
        var o = node as JsonObject;
        if (JsText.Str(o, "reason") is not { } reason || !FileRefusalReasons.Contains(reason))
        {
            return null;
        }

        switch (reason)
        {
            case "text_repeated":
                return Integer(o!["matches"], safe: true) is JsonValue matches && matches.GetValue<long>() > 1 ? new JsonObject { ["reason"] = reason, ["matches"] = matches } : null;
            case "too_large":
                return Integer(o!["bytes"], safe: true) is JsonValue bytes && bytes.GetValue<long>() >= 0 ? new JsonObject { ["reason"] = reason, ["bytes"] = bytes } : null;
            case "file_not_found" or "folder_not_found" or "path_not_found":
                var shown = new JsonObject { ["reason"] = reason };
                if (JsText.Str(o, "suggestion") is { } suggestion)
                {
                    shown["suggestion"] = suggestion;
                }

                return shown;
            default:
                return new JsonObject { ["reason"] = reason };
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9_.:-]{1,128}\z")]
    private static partial System.Text.RegularExpressions.Regex RunIdPattern();

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9_-]{1,128}\z")]
    private static partial System.Text.RegularExpressions.Regex AgentIdPattern();

    // JavaScript's /^[\w-]{1,128}$/ (\w is ASCII there).
    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z0-9_-]{1,128}\z")]
    private static partial System.Text.RegularExpressions.Regex ToolNamePattern();
}
