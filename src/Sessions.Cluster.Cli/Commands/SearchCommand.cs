using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions search TEXT</c>: sessions of every project by title, summary, first prompt, tag or id prefix.</summary>
internal static class SearchCommand
{
    public static Command Create(CliContext context)
    {
        var text = new Argument<string>("text") { Description = "Text in the title, summary, first prompt or tag (case-insensitive), or the start of a session id" };
        var limit = new Option<int>("--limit") { Description = "Most sessions to show (1-1000)", DefaultValueFactory = _ => 50 };
        var command = new Command("search", "Search the sessions of every project of the tenant") { text, limit };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
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
        }));
        return command;
    }
}
