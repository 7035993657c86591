using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions rm &lt;id&gt;</c>: deletes a session, its subagent transcripts and its catalog row.</summary>
internal static class RemoveCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var command = new Command("rm", "Delete a session and its subagent transcripts") { id, project };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            await client.DeleteAsync(projectKey, sessionId, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
