using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Console;

/// <summary>A tool call as a person reads it: a one-line gist and its parts (a command, a file's text, a diff, a checklist).</summary>
/// <param name="Gist">What the call did, in one line (a command, a path, a pattern), or null.</param>
/// <param name="Parts">The parts, in order.</param>
public sealed record ToolView(string? Gist, IReadOnlyList<ToolPart> Parts);

/// <summary>One labelled part of a <see cref="ToolView"/>.</summary>
/// <param name="Label">What it is ("Command", "old → new", "Text of src/a.cs", …).</param>
/// <param name="Lines">Its lines, each with its kind: null (plain), <c>del</c>, <c>add</c>, <c>done</c>, <c>doing</c> or <c>todo</c>.</param>
/// <param name="Class">The part's kind for the page: <c>cmd</c>, <c>diff</c>, <c>file</c>, <c>todos</c> or <c>text</c>.</param>
public sealed record ToolPart(string Label, IReadOnlyList<(string Text, string? Kind)> Lines, string Class);

/// <summary>
/// Renders the common Claude Code tools for what they are (Bash as a command, Edit and MultiEdit as a diff of
/// <c>old_string</c> → <c>new_string</c>, Write as the file's text, Read with its path and range, Grep and Glob with their
/// pattern, TodoWrite as a checklist, Task and Agent with their prompt); any other tool, or an input not in the shape
/// its tool writes, has no view and is shown as indented JSON. Every text keeps invisible and reordering characters
/// visible as <c>\uXXXX</c> (as the JSON does), so a command cannot pass for another.
/// </summary>
public static class ToolViews
{
    /// <summary>The view of a call, or null when the tool is not one of these or its input is not in its shape.</summary>
    /// <param name="name">The tool's name.</param>
    /// <param name="input">The call's input.</param>
    /// <param name="maxChars">Longest text of a part, in characters; the rest is cut with a note.</param>
    public static ToolView? Of(string name, JsonNode? input, int maxChars)
    {
        if (input is not JsonObject o)
        {
            return null;
        }

        string? S(string key) => o[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? Shown(v.GetValue<string>(), maxChars) : null;
        switch (name)
        {
            case "Bash" when S("command") is { } command:
                return new ToolView(FirstLine(command), [Part(S("description") is { } d ? $"Command — {d}" : "Command", command, "cmd")]);
            case "Edit" when S("file_path") is { } path && S("old_string") is { } old && S("new_string") is { } now:
                return new ToolView(path, [Diff(o["replace_all"]?.GetValueKind() == JsonValueKind.True ? $"{path} (every occurrence)" : path, old, now)]);
            case "MultiEdit" when S("file_path") is { } path && o["edits"] is JsonArray edits:
                var parts = new List<ToolPart>();
                foreach (var edit in edits)
                {
                    if (edit is not JsonObject e || e["old_string"] is not JsonValue ov || ov.GetValueKind() != JsonValueKind.String
                        || e["new_string"] is not JsonValue nv || nv.GetValueKind() != JsonValueKind.String)
                    {
                        return null;
                    }

                    parts.Add(Diff($"{path} — edit {parts.Count + 1} of {edits.Count}", Shown(ov.GetValue<string>(), maxChars), Shown(nv.GetValue<string>(), maxChars)));
                }

                return new ToolView(path, parts);
            case "Write" when S("file_path") is { } path && S("content") is { } content:
                return new ToolView(path, [Part($"Text of {path}", content, "file")]);
            case "Read" when S("file_path") is { } path:
                var range = (Number(o["offset"]), Number(o["limit"])) switch
                {
                    ({ } from, { } count) => $" (lines {from}–{from + count - 1})",
                    ({ } from, null) => $" (from line {from})",
                    (null, { } count) => $" (first {count} lines)",
                    _ => "",
                };
                return new ToolView(path + range, []);
            case "Grep" or "Glob" when S("pattern") is { } pattern:
                var where = string.Join(" ", new[] { S("path") is { } p ? "in " + p : null, S("glob") is { } g ? "files " + g : null, S("type") is { } fileType ? "type " + fileType : null }.OfType<string>());
                return new ToolView(where.Length > 0 ? $"{pattern}  {where}" : pattern, []);
            case "TodoWrite" when o["todos"] is JsonArray todos:
                var lines = new List<(string, string?)>();
                foreach (var todo in todos)
                {
                    if (todo is not JsonObject t || t["content"] is not JsonValue c || c.GetValueKind() != JsonValueKind.String)
                    {
                        return null;
                    }

                    var status = t["status"] is JsonValue sv && sv.GetValueKind() == JsonValueKind.String ? sv.GetValue<string>() : "";
                    var (mark, kind) = status switch { "completed" => ("[x]", "done"), "in_progress" => ("[~]", "doing"), _ => ("[ ]", "todo") };
                    lines.Add(($"{mark} {Shown(c.GetValue<string>(), maxChars)}", kind));
                }

                return new ToolView($"{lines.Count(l => l.Item2 == "done")} of {lines.Count} done", [new ToolPart("To-do list", lines, "todos")]);
            case "Task" or "Agent" when S("prompt") is { } prompt:
                return new ToolView(S("description") ?? FirstLine(prompt), [Part(S("subagent_type") is { } type ? $"Prompt ({type} agent)" : "Prompt", prompt, "text")]);
            default:
                return null;
        }
    }

    // old → new as removed and added lines, the lines both share at the start and end kept once as context.
    private static ToolPart Diff(string label, string old, string now)
    {
        var a = old.Split('\n');
        var b = now.Split('\n');
        var head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head])
        {
            head++;
        }

        var tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[^(tail + 1)] == b[^(tail + 1)])
        {
            tail++;
        }

        var lines = new List<(string, string?)>();
        lines.AddRange(a[..head].Select(l => ("  " + l, (string?)null)));
        lines.AddRange(a[head..(a.Length - tail)].Select(l => ("- " + l, (string?)"del")));
        lines.AddRange(b[head..(b.Length - tail)].Select(l => ("+ " + l, (string?)"add")));
        lines.AddRange(a[(a.Length - tail)..].Select(l => ("  " + l, (string?)null)));
        return new ToolPart(label, lines, "diff");
    }

    private static ToolPart Part(string label, string text, string kind) => new(label, [(text, null)], kind);

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0];
        return line.Length <= 120 ? line : line[..120] + "…";
    }

    private static long? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 0 and < int.MaxValue ? n : null;

    // Invisible and reordering characters as \uXXXX (newlines and tabs stay), cut at maxChars.
    private static string Shown(string text, int maxChars)
    {
        if (text.Length > maxChars)
        {
            text = string.Concat(text.AsSpan(0, maxChars), $"\n… ({text.Length - maxChars:N0} more characters: download the JSONL for all of it)");
        }

        if (!text.Any(c => c is not ('\n' or '\t') && (Components.Links.IsHidden(c) || c == '\r')))
        {
            return text;
        }

        var shown = new System.Text.StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c is not ('\n' or '\t') && (Components.Links.IsHidden(c) || c == '\r'))
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
}
