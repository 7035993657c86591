using System.CommandLine;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions messages &lt;id&gt;</c>: the live chain's messages (the SDK's getSessionMessages).</summary>
internal static class MessagesCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var limit = new Option<int?>("--limit") { Description = "Most messages to show" };
        var offset = new Option<int?>("--offset") { Description = "Messages to skip" };
        var agent = new Option<string?>("--agent") { Description = "Show this subagent's messages instead (ids from: sessions subagents ID)" };
        var command = new Command("messages", "Show a session's messages, or one subagent's") { id, project, limit, offset, agent };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            var messages = result.GetValue(agent) is { } agentId
                ? await client.GetSubagentMessagesAsync(projectKey, sessionId, agentId, result.GetValue(limit), result.GetValue(offset), ct).ConfigureAwait(false)
                : await client.GetMessagesAsync(projectKey, sessionId, result.GetValue(limit), result.GetValue(offset), ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.Out.WriteLine(messages.ToJsonString(CliContext.Json));
                return ExitCodes.Success;
            }

            foreach (var m in messages.OfType<JsonObject>())
            {
                context.Out.WriteLine($"[{m["type"]}] {m["uuid"]}  {Preview(m["message"])}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static string Preview(JsonNode? message)
    {
        var content = message?["content"];
        var text = content switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray blocks => string.Join(" ", blocks.OfType<JsonObject>().Select(BlockPreview)),
            _ => "",
        };
        text = text.ReplaceLineEndings(" ");
        return text.Length > 120 ? text[..120] + "…" : text;
    }

    // A text block is its text; a tool call names its tool (<tool_use: Bash>); any other block, its type.
    private static string? BlockPreview(JsonObject block) => block["type"]?.ToString() switch
    {
        "text" => block["text"]?.ToString(),
        "tool_use" when block["name"] is JsonValue name && name.TryGetValue<string>(out var tool) => $"<tool_use: {tool}>",
        var type => $"<{type}>",
    };
}
