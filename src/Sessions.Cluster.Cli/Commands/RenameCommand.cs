using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions rename &lt;id&gt; &lt;title&gt;</c>: the SDK's renameSession.</summary>
internal static class RenameCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var title = new Argument<string>("title") { Description = "New title" };
        var project = CommonArguments.Project();
        var command = new Command("rename", "Set a session's title") { id, title, project };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            await client.RenameAsync(projectKey, sessionId, result.GetValue(title)!, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
