using System.CommandLine;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions trash list</c> and <c>sessions trash restore &lt;id&gt; [--project p]</c>: sessions expired by retention wait
/// in the tenant's trash for its grace period, restorable, before they are purged.
/// </summary>
internal static class TrashCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("trash", "Sessions expired by retention, restorable until their grace period ends");

        var limit = new Option<int>("--limit") { Description = "Most sessions to list", DefaultValueFactory = _ => 1000 };
        var list = new Command("list", "List the trash, oldest first, with when each session will be purged") { limit };
        list.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var answer = (await ListAsync(client, result.GetValue(limit), ct).ConfigureAwait(false))!;
            if (context.IsJson(result))
            {
                context.Out.WriteLine(answer.ToJsonString(CliContext.Json));
                return ExitCodes.Success;
            }

            var sessions = (JsonArray)answer["sessions"]!;
            context.Out.WriteLine($"{sessions.Count} session(s) in the trash (grace period {answer["graceDays"]} days)");
            foreach (var s in sessions)
            {
                context.Out.WriteLine($"  {s!["projectKey"]}/{s["sessionId"]}  purged after {Time(s["purgeAfter"])}  last active {Time(s["lastModified"])}  {s["title"]}");
            }

            return ExitCodes.Success;
        }));
        command.Add(list);

        var id = CommonArguments.SessionId();
        var project = new Option<string?>("--project", "-p") { Description = "Project key (looked up in the trash when omitted)" };
        var restore = new Command("restore", "Bring a session back from the trash exactly as it was") { id, project };
        restore.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var sessionId = result.GetValue(id)!;
            var projectKey = result.GetValue(project);
            if (string.IsNullOrEmpty(projectKey))
            {
                var matches = ((JsonArray)(await ListAsync(client, 100_000, ct).ConfigureAwait(false))!["sessions"]!)
                    .Where(s => (string?)s!["sessionId"] == sessionId).Select(s => (string)s!["projectKey"]!).ToList();
                projectKey = matches.Count switch
                {
                    0 => throw new CliException(ExitCodes.NotFound, $"Session '{sessionId}' is not in the trash."),
                    1 => matches[0],
                    _ => throw new CliException(ExitCodes.InvalidInput, $"Session '{sessionId}' is in the trash of several projects ({string.Join(", ", matches)}); pass --project."),
                };
            }

            await client.SendJsonAsync(HttpMethod.Post, $"v1/trash/{Uri.EscapeDataString(projectKey)}/{Uri.EscapeDataString(sessionId)}/restore", null, ct).ConfigureAwait(false);
            context.Out.WriteLine($"restored {projectKey}/{sessionId}");
            return ExitCodes.Success;
        }));
        command.Add(restore);
        return command;
    }

    private static Task<JsonNode?> ListAsync(Client.SessionsClient client, int limit, CancellationToken ct) =>
        client.SendJsonAsync(HttpMethod.Get, $"v1/trash?limit={limit}", null, ct);

    private static string Time(JsonNode? epochMs) =>
        epochMs is null ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(epochMs.GetValue<long>()).ToString("u", System.Globalization.CultureInfo.InvariantCulture);
}
