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
    /// <summary>Sessions sent at once unless <c>--parallel</c> says otherwise (the SDK's populate sends 16 at a time too).</summary>
    public const int DefaultParallel = 16;

    public static Command Create(CliContext context)
    {
        var dir = new Argument<DirectoryInfo>("claude-config-dir") { Description = "A Claude Code config folder (e.g. ~/.claude) holding projects/" };
        var parallel = new Option<int>("--parallel") { Description = $"Sessions sent at once, 1-64 (default {DefaultParallel}); a session's own transcripts go one after the other", DefaultValueFactory = _ => DefaultParallel };
        var command = new Command("import", "Import every Claude Code session (and subagent) of a config folder") { dir, parallel };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            if (result.GetValue(parallel) is < 1 or > 64)
            {
                throw new CliException(ExitCodes.InvalidInput, $"--parallel must be between 1 and 64, not {result.GetValue(parallel)}.");
            }

            var projects = Path.Combine(result.GetValue(dir)!.FullName, "projects");
            if (!Directory.Exists(projects))
            {
                throw new CliException(ExitCodes.NotFound, $"'{projects}' does not exist: point at a Claude Code config folder (one that holds projects/).");
            }

            var files = Directory.EnumerateDirectories(projects).Order(StringComparer.Ordinal)
                .SelectMany(p => Directory.EnumerateFiles(p, "*.jsonl", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal).Select(f => (ProjectDir: p, File: f)))
                .ToList();
            using var client = context.CreateClient(result);
            var outcomes = new SessionOutcome[files.Count];
            async Task ImportAll(Action? step)
            {
                // Sessions go side by side; a session's main transcript, then its subagents', one after the other (a
                // subagent's append needs the main transcript). Each new one is sent fenced at length 0 first, which
                // a session already on the server refuses, and only then compared with the server's copy.
                await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), new ParallelOptions { MaxDegreeOfParallelism = result.GetValue(parallel), CancellationToken = ct }, async (i, token) =>
                {
                    var (projectDir, file) = files[i];
                    var projectKey = Path.GetFileName(projectDir);
                    var sessionId = Path.GetFileNameWithoutExtension(file);
                    var outcome = outcomes[i] = new SessionOutcome();
                    try
                    {
                        outcome.Sent.Add((file, await TranscriptSync.SendAsync(client, projectKey, sessionId, null, file, token, assumeNew: true).ConfigureAwait(false), false));
                        foreach (var (subpath, path) in TranscriptSync.LocalSubpaths(projectDir, sessionId))
                        {
                            outcome.Sent.Add((path, await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, token, assumeNew: true).ConfigureAwait(false), true));
                        }
                    }
                    catch (Sessions.Cluster.Client.SessionsApiException ex) when (ex.Status is >= 400 and < 500)
                    {
                        outcome.Failure = $"{file}: {ex.Message}";
                    }

                    step?.Invoke();
                }).ConfigureAwait(false);
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
                    var gate = new Lock();
                    await ImportAll(() =>
                    {
                        lock (gate)
                        {
                            task.Increment(1);
                        }
                    }).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }

            // In the folder's order, whatever order the sessions finished in.
            var summary = new ImportSummary();
            foreach (var outcome in outcomes)
            {
                foreach (var (path, sent, subagent) in outcome.Sent)
                {
                    summary.Add(path, sent, subagent);
                }

                if (outcome.Failure is { } failure)
                {
                    summary.Failed.Add(failure);
                }
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

    // What sending one session (its main transcript and subagents) did, kept until every session is done.
    private sealed class SessionOutcome
    {
        public List<(string Path, TranscriptSync.SendResult Result, bool Subagent)> Sent { get; } = [];

        public string? Failure { get; set; }
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
