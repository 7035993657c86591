using System.Text;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// A transcript written to attack whoever displays it: script tags, event handlers, <c>javascript:</c> links and
/// Markdown, SVG (inline and as an image), HTML in a title, a line of a megabyte and deeply nested tool input. Every
/// payload would set <c>window.__pwned</c> if it ran.
/// </summary>
public static class HostileTranscript
{
    /// <summary>Marker text the page must show as text (it is the first user prompt).</summary>
    public const string ScriptText = "<script>window.__pwned = 'script'</script>";

    /// <summary>An assistant text of 128 <c>&gt;</c>: Markdig throws "too deeply nested" on it.</summary>
    public static readonly string DeepQuotes = new('>', 128);

    /// <summary>How deep the tool input nests (inside the server's entry depth limit, <c>EntryLimits.MaxDepth</c>).</summary>
    public const int Depth = 48;

    /// <summary>The transcript's lines for <paramref name="sessionId"/>.</summary>
    public static IReadOnlyList<string> Lines(string sessionId)
    {
        var svg = Convert.ToBase64String(Encoding.UTF8.GetBytes("<svg xmlns='http://www.w3.org/2000/svg' onload=\"window.__pwned='svg-image'\"><script>window.__pwned='svg-script'</script></svg>"));
        JsonNode nested = new JsonObject { ["payload"] = "<img src=x onerror=\"window.__pwned='deep'\">" };
        for (var i = 0; i < Depth; i++)
        {
            nested = new JsonObject { ["level"] = nested };
        }

        var entries = new List<JsonObject>
        {
            User("u1", null, ScriptText + " and <img src=x onerror=\"window.__pwned='img'\"> please"),
            Assistant("a1", "u1",
                new JsonObject { ["type"] = "text", ["text"] = "Here: [click me](javascript:window.__pwned='link') and <a href=\"javascript:window.__pwned='a'\">raw link</a>\n\n<svg onload=\"window.__pwned='svg'\"></svg>\n\n![x](javascript:window.__pwned='md-img')\n\n<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>" },
                new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_hostile", ["name"] = "<b onmouseover=\"window.__pwned='tool'\">Bash</b>", ["input"] = nested }),
            ToolResult("u2", "a1", "toolu_hostile", "</pre><script>window.__pwned='result'</script>"),
            Assistant("a2", "u2",
                new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/svg+xml", ["data"] = svg } },
                new JsonObject { ["type"] = "text", ["text"] = new string('x', 1024 * 1024) + "<script>window.__pwned='huge'</script>" }),
            // Markdown its library refuses (too deeply nested), then a table whose HTML is seconds of work: plain text.
            Assistant("a3", "a2", new JsonObject { ["type"] = "text", ["text"] = DeepQuotes }),
            Assistant("a4", "a3", new JsonObject { ["type"] = "text", ["text"] = "a|b\n-|-\n" + new string('|', 19_000) }),
            // The tools rendered for what they are (a diff, a command, a checklist) carry payloads too.
            Assistant("a5", "a4",
                new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_edit", ["name"] = "Edit", ["input"] = new JsonObject
                {
                    ["file_path"] = "<img src=x onerror=\"window.__pwned='path'\">", ["old_string"] = "</pre><script>window.__pwned='old'</script>",
                    ["new_string"] = "<img src=x onerror=\"window.__pwned='new'\">",
                } },
                new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_bash", ["name"] = "Bash", ["input"] = new JsonObject { ["command"] = "echo '</span><script>window.__pwned=\"cmd\"</script>'" } },
                new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_todo", ["name"] = "TodoWrite", ["input"] = new JsonObject
                {
                    ["todos"] = new JsonArray(new JsonObject { ["content"] = "<svg onload=\"window.__pwned='todo'\">", ["status"] = "completed" }),
                } }),
        };
        return entries.Select(e =>
        {
            e["sessionId"] = sessionId;
            return e.ToJsonString();
        }).ToList();
    }

    private static JsonObject Entry(string type, string uuid, string? parent, JsonNode content) => new()
    {
        ["type"] = type,
        ["uuid"] = Uuid(uuid),
        ["parentUuid"] = parent is null ? null : Uuid(parent),
        ["isSidechain"] = false,
        ["userType"] = "external",
        ["cwd"] = "/tmp/hostile",
        ["timestamp"] = "2026-11-28T10:00:00.000Z",
        ["message"] = new JsonObject { ["role"] = type, ["content"] = content },
    };

    private static JsonObject User(string uuid, string? parent, string text) => Entry("user", uuid, parent, JsonValue.Create(text)!);

    private static JsonObject Assistant(string uuid, string parent, params JsonObject[] blocks) =>
        Entry("assistant", uuid, parent, new JsonArray(blocks.Cast<JsonNode>().ToArray()));

    private static JsonObject ToolResult(string uuid, string parent, string toolUseId, string text) =>
        Entry("user", uuid, parent, new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = toolUseId, ["content"] = text }));

    // Stable uuids per name, so parents link.
    private static string Uuid(string name) => new Guid(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16)).ToString();
}
