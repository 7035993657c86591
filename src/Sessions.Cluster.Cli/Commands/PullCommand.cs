using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions pull &lt;id&gt; --config-dir DIR</c>: writes the session and its subagents into
/// <c>DIR/projects/&lt;projectKey&gt;/</c> byte for byte, so <c>claude --resume &lt;id&gt;</c> finds it.
/// </summary>
internal static class PullCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var configDir = CommonArguments.ConfigDir(required: false);
        var command = new Command("pull", "Write a session into a Claude Code config folder") { id, project, configDir };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            var files = await TranscriptSync.PullAsync(client, projectKey, sessionId, result.GetValue(configDir)!, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(new { sessionId, projectKey, files });
            }
            else
            {
                files.ForEach(context.Out.WriteLine);
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
