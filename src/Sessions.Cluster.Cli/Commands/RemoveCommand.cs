using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions rm &lt;id&gt;</c>: deletes a session, its subagent transcripts and its catalog row.</summary>
internal static class RemoveCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var yes = new Option<bool>("--yes", "-y") { Description = "Delete without asking (needed when input is not a terminal)" };
        var command = new Command("rm", "Delete a session and its subagent transcripts (asks first unless --yes)") { id, project, yes };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            if (!result.GetValue(yes))
            {
                if (Console.IsInputRedirected)
                {
                    throw new CliException(ExitCodes.InvalidInput, $"Deleting session {sessionId} cannot be undone; input is not a terminal, so pass --yes to confirm.");
                }

                context.Out.Write($"Delete session {sessionId} of project {projectKey} and its subagent transcripts? This cannot be undone. [y/N] ");
                if (Console.ReadLine()?.Trim().ToLowerInvariant() is not ("y" or "yes"))
                {
                    context.Out.WriteLine("Not deleted.");
                    return ExitCodes.Success;
                }
            }

            await client.DeleteAsync(projectKey, sessionId, ct).ConfigureAwait(false);
            context.Out.WriteLine($"Deleted session {sessionId}.");
            return ExitCodes.Success;
        }));
        return command;
    }
}
