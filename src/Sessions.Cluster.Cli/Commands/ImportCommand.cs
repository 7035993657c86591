using System.CommandLine;
using Sessions.Cluster.Hooks;
using Spectre.Console;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions import &lt;claude-config-dir&gt;</c>: every project, session and subagent transcript of a Claude Code
/// folder into the server, with a progress bar and a summary; running it twice changes nothing.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliContext context)
    {
        var dir = new Argument<DirectoryInfo>("claude-config-dir") { Description = "A Claude Code config folder (e.g. ~/.claude) holding projects/" };
        var command = new Command("import", "Import every Claude Code session (and subagent) of a config folder") { dir };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            var projects = Path.Combine(result.GetValue(dir)!.FullName, "projects");
            if (!Directory.Exists(projects))
            {
                throw new CliException(ExitCodes.NotFound, $"'{projects}' does not exist: point at a Claude Code config folder (one that holds projects/).");
            }

            var files = Directory.EnumerateDirectories(projects).Order(StringComparer.Ordinal)
                .SelectMany(p => Directory.EnumerateFiles(p, "*.jsonl", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal).Select(f => (ProjectDir: p, File: f)))
                .ToList();
            using var client = context.CreateClient(result);
            var summary = new ImportSummary();
            async Task ImportAll(Action? step)
            {
                foreach (var (projectDir, file) in files)
                {
                    var projectKey = Path.GetFileName(projectDir);
                    var sessionId = Path.GetFileNameWithoutExtension(file);
                    try
                    {
                        summary.Add(file, await TranscriptSync.SendAsync(client, projectKey, sessionId, null, file, ct).ConfigureAwait(false));
                        foreach (var (subpath, path) in TranscriptSync.LocalSubpaths(projectDir, sessionId))
                        {
                            summary.Add(path, await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, ct).ConfigureAwait(false), subagent: true);
                        }
                    }
                    catch (Sessions.Cluster.Client.SessionsApiException ex) when (ex.Status is >= 400 and < 500)
                    {
                        summary.Failed.Add($"{file}: {ex.Message}");
                    }

                    step?.Invoke();
                }
            }

            if (context.IsJson(result) || !AnsiConsole.Profile.Capabilities.Interactive)
            {
                await ImportAll(null).ConfigureAwait(false);
            }
            else
            {
                await AnsiConsole.Progress().StartAsync(async p =>
                {
                    var task = p.AddTask("Importing sessions", maxValue: Math.Max(1, files.Count));
                    await ImportAll(() => task.Increment(1)).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            if (context.IsJson(result))
            {
                context.WriteJson(summary);
            }
            else
            {
                context.Out.WriteLine($"Sessions: {summary.Sessions}, subagent transcripts: {summary.Subagents}, entries appended: {summary.EntriesAppended}, already up to date: {summary.UpToDate}, rejected lines: {summary.RejectedLines}");
                foreach (var line in summary.Rejected)
                {
                    context.Out.WriteLine($"  line not sent: {line}");
                }

                foreach (var line in summary.Diverged.Concat(summary.Failed))
                {
                    context.Out.WriteLine($"  not imported: {line}");
                }
            }

            return summary.Diverged.Count + summary.Failed.Count > 0 ? ExitCodes.Conflict : ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>What an import did (printed as text or JSON).</summary>
    internal sealed class ImportSummary
    {
        public int Sessions { get; set; }

        public int Subagents { get; set; }

        public int EntriesAppended { get; set; }

        public int UpToDate { get; set; }

        public int RejectedLines { get; set; }

        public List<string> Rejected { get; } = [];

        public List<string> Diverged { get; } = [];

        public List<string> Failed { get; } = [];

        public void Add(string file, TranscriptSync.SendResult r, bool subagent = false)
        {
            if (subagent)
            {
                Subagents++;
            }
            else
            {
                Sessions++;
            }

            EntriesAppended += r.Appended;
            RejectedLines += r.Rejected.Count;
            Rejected.AddRange(r.Rejected.Select(x => $"{file}:{x.Line}: {x.Reason}"));
            if (r.Diverged)
            {
                Diverged.Add($"{file}: the server's copy is not a prefix of this file (it changed on the server or locally); 'sessions pull <id> --force' replaces the local file with the server's copy and keeps the file as <file>.bak-<utc time>, to compare or copy lines from");
            }
            else if (r.Appended == 0)
            {
                UpToDate++;
            }
        }
    }
}
