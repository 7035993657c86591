using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions list --project KEY</c>: a project's sessions, newest first, with paging and filters.</summary>
internal static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var project = new Option<string>("--project", "-p") { Description = "Project key", Required = true };
        var limit = new Option<int>("--limit") { Description = "Page size (1-1000)", DefaultValueFactory = _ => 50 };
        var cursor = new Option<string?>("--cursor") { Description = "Cursor of the next page (printed by the previous one)" };
        var tag = new Option<string?>("--tag") { Description = "Only sessions with this tag" };
        var text = new Option<string?>("--search") { Description = "Only sessions whose title or first prompt contains this" };
        var command = new Command("list", "List a project's sessions") { project, limit, cursor, tag, text };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var page = await client.ListAsync(result.GetValue(project)!, result.GetValue(limit), result.GetValue(cursor), result.GetValue(tag), result.GetValue(text), ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(page);
                return ExitCodes.Success;
            }

            context.WriteSessions(page.Sessions);
            if (page.NextCursor is not null)
            {
                context.Out.WriteLine($"More: --cursor {page.NextCursor}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
