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
        var force = new Option<bool>("--force") { Description = "Overwrite local files that hold lines the server lacks; each is first copied to <file>.bak-<utc time>" };
        var command = new Command("pull", "Write a session into a Claude Code config folder (refuses to overwrite local lines that were never pushed)") { id, project, configDir, force };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            var (files, backups) = await TranscriptPull.PullAsync(client, projectKey, sessionId, result.GetValue(configDir)!, result.GetValue(force), ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(new { sessionId, projectKey, files, backups });
            }
            else
            {
                context.Out.WriteLine($"Pulled session {sessionId} ({files.Count} file{(files.Count == 1 ? "" : "s")}):");
                files.ForEach(f => context.Out.WriteLine($"  {f}"));
                backups.ForEach(b => context.Out.WriteLine($"  kept the replaced local file as {b}"));
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
