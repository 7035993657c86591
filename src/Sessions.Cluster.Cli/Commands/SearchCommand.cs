using System.CommandLine;
using System.Globalization;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions search TEXT</c>: what was said, in every project of the tenant (or one, with <c>--project</c>): each
/// session found with its title, the best matching message's snippet and the command that resumes it. With
/// <c>--titles</c>: sessions by title, summary, first prompt, tag or id prefix instead.
/// </summary>
internal static class SearchCommand
{
    public static Command Create(CliContext context)
    {
        var text = new Argument<string>("text") { Description = "Words said in the session (all must match), \"a phrase\", -excluded, a OR b; with --titles: text of the title, summary, first prompt or tag, or the start of an id" };
        var limit = new Option<int>("--limit") { Description = "Most sessions to show (1-100; with --titles 1-1000)", DefaultValueFactory = _ => 20 };
        var project = new Option<string?>("--project", "-p") { Description = "Only this project key" };
        var titles = new Option<bool>("--titles") { Description = "Search titles, summaries, first prompts, tags and id prefixes instead of what was said" };
        var command = new Command("search", "Find sessions by what was said in them (or, with --titles, by their titles)") { text, limit, project, titles };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            if (result.GetValue(titles))
            {
                var found = await client.SearchAsync(result.GetValue(text)!, result.GetValue(limit), ct).ConfigureAwait(false);
                if (context.IsJson(result))
                {
                    context.WriteJson(found);
                }
                else
                {
                    context.WriteSessions(found.Sessions);
                }

                return ExitCodes.Success;
            }

            var hits = await client.SearchContentAsync(result.GetValue(text)!, result.GetValue(project), result.GetValue(limit), null, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(hits);
                return ExitCodes.Success;
            }

            if (hits.Results.Count == 0)
            {
                context.Out.WriteLine("No session matches.");
                return ExitCodes.Success;
            }

            foreach (var hit in hits.Results)
            {
                var s = hit.Session;
                var when = DateTimeOffset.FromUnixTimeMilliseconds(s.LastModified).ToString("u", CultureInfo.InvariantCulture);
                context.Out.WriteLine($"{s.SessionId}  {when}  {s.ProjectKey}");
                context.Out.WriteLine($"  {OneLine(s.CustomTitle ?? s.Summary, 100)}");
                foreach (var m in hit.Messages.Take(1))
                {
                    context.Out.WriteLine($"  {m.Role}: {OneLine(m.Snippet, 160)}");
                }

                context.Out.WriteLine($"  sessions resume {s.SessionId}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }

    private static string OneLine(string text, int max)
    {
        var line = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return line.Length <= max ? line : line[..(max - 1)] + "…";
    }
}
