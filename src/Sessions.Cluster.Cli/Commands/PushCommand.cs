using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions push &lt;id&gt; --config-dir DIR</c>: sends what a Claude Code host appended to a pulled session
/// (and its subagents) since; the server's copy must be a prefix of the local file.
/// </summary>
internal static class PushCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var configDir = CommonArguments.ConfigDir(required: false);
        var command = new Command("push", "Send what was appended locally to a session back to the server") { id, project, configDir };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            var sessionId = result.GetValue(id)!;
            var projects = Path.Combine(result.GetValue(configDir)!, "projects");
            var projectKey = result.GetValue(project);
            var candidates = Directory.Exists(projects)
                ? Directory.EnumerateDirectories(projects).Where(d => (projectKey is null || Path.GetFileName(d) == projectKey) && File.Exists(Path.Combine(d, sessionId + ".jsonl"))).ToList()
                : [];
            if (candidates.Count != 1)
            {
                throw new CliException(candidates.Count == 0 ? ExitCodes.NotFound : ExitCodes.InvalidInput,
                    candidates.Count == 0 ? $"No local transcript {sessionId}.jsonl under {projects}." : $"{sessionId}.jsonl is in several projects; pass --project.");
            }

            using var client = context.CreateClient(result);
            var projectDir = candidates[0];
            projectKey = Path.GetFileName(projectDir);
            var results = new List<object>();
            var main = await TranscriptSync.SendAsync(client, projectKey, sessionId, null, Path.Combine(projectDir, sessionId + ".jsonl"), ct).ConfigureAwait(false);
            results.Add(new { subpath = (string?)null, main.Appended, main.Rejected, main.Diverged });
            var diverged = main.Diverged;
            foreach (var (subpath, path) in TranscriptSync.LocalSubpaths(projectDir, sessionId))
            {
                var r = await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, ct).ConfigureAwait(false);
                results.Add(new { subpath, r.Appended, r.Rejected, r.Diverged });
                diverged |= r.Diverged;
            }

            if (context.IsJson(result))
            {
                context.WriteJson(results);
            }
            else
            {
                context.Out.WriteLine($"Pushed {sessionId}: {string.Join(", ", results)}");
            }

            return diverged ? ExitCodes.Conflict : ExitCodes.Success;
        }));
        return command;
    }
}
