using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions fork &lt;id&gt; [--at uuid] [--title t]</c>: the SDK's forkSession; prints the new id.</summary>
internal static class ForkCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var at = new Option<string?>("--at") { Description = "Fork up to this message uuid (inclusive); the whole session when omitted" };
        var title = new Option<string?>("--title") { Description = "Title of the fork (default: '<title> (fork)')" };
        var command = new Command("fork", "Fork a session, optionally at a message") { id, project, at, title };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            var forkId = await client.ForkAsync(projectKey, sessionId, result.GetValue(at), result.GetValue(title), ct).ConfigureAwait(false);
            // The fork's grain writes the fork right after the call answers; asking it for the fork's info waits for
            // that write, so the id printed is at once found by every lookup (by id alone too, as `show` does).
            await client.GetInfoAsync(projectKey, forkId, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(new { sessionId = forkId, projectKey, forkedFrom = sessionId });
            }
            else
            {
                context.Out.WriteLine(forkId);
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
