using System.CommandLine;
using Sessions.Cluster.Hooks;

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
            var results = new List<(string? Subpath, string Path, TranscriptSync.SendResult Result)>();
            var mainPath = Path.Combine(projectDir, sessionId + ".jsonl");
            results.Add((null, mainPath, await TranscriptSync.SendAsync(client, projectKey, sessionId, null, mainPath, ct).ConfigureAwait(false)));
            foreach (var (subpath, path) in TranscriptSync.LocalSubpaths(projectDir, sessionId))
            {
                results.Add((subpath, path, await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, ct).ConfigureAwait(false)));
            }

            var diverged = results.Any(r => r.Result.Diverged);
            if (context.IsJson(result))
            {
                context.WriteJson(results.Select(r => new
                {
                    subpath = r.Subpath,
                    file = r.Path,
                    appended = r.Result.Appended,
                    diverged = r.Result.Diverged,
                    rejected = r.Result.Rejected.Select(x => new { line = x.Line, reason = x.Reason }),
                }));
            }
            else
            {
                var appended = results.Sum(r => r.Result.Appended);
                context.Out.WriteLine(appended == 0 && !diverged
                    ? $"Session {sessionId} is up to date on the server ({results.Count} file{(results.Count == 1 ? "" : "s")} checked)."
                    : $"Pushed {appended} new entr{(appended == 1 ? "y" : "ies")} of session {sessionId} from {results.Count} file{(results.Count == 1 ? "" : "s")}.");
                foreach (var (_, path, r) in results)
                {
                    foreach (var x in r.Rejected)
                    {
                        context.Out.WriteLine($"  line not sent: {path}:{x.Line}: {x.Reason}");
                    }

                    if (r.Diverged)
                    {
                        context.Out.WriteLine($"  diverged: {path} no longer starts with the server's copy (it changed on the server or here), so nothing of it was sent. " +
                            $"'sessions pull {sessionId} --force' takes the server's copy and keeps this file beside it as {Path.GetFileName(path)}.bak-<utc time>, to compare or copy lines from.");
                    }
                }
            }

            return diverged ? ExitCodes.Conflict : ExitCodes.Success;
        }));
        return command;
    }
}
