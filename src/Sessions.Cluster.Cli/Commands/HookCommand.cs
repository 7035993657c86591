using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Cluster.Cli.Hooks;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions hook</c>: what Claude Code runs on <c>Stop</c>, <c>SubagentStop</c>, <c>PreCompact</c> and
/// <c>SessionEnd</c> (installed by <c>sessions hooks install</c>). Reads the hook's JSON on stdin and pushes the
/// session's new lines (<see cref="HookSync"/>) within <c>--timeout-ms</c>. It must never hurt the user's session
/// (https://code.claude.com/docs/en/hooks, "Exit code output": 2 blocks, other non-zero codes show stderr to the user),
/// so it always exits 0 and prints nothing; what it did goes to <c>&lt;config&gt;/sessions-cluster/hooks.log</c> and
/// the last run to <c>hooks-status.json</c> beside it (<c>sessions hooks status</c> shows it). A run that cannot finish
/// (server down, budget spent) leaves the rest to the next event or <c>sessions push</c>: pushes are incremental.
/// </summary>
internal static class HookCommand
{
    /// <summary>The hook's default time budget.</summary>
    public const int DefaultTimeoutMs = 2000;

    public static Command Create(CliContext context)
    {
        var timeout = new Option<int>("--timeout-ms") { Description = $"Give up after this many milliseconds (default {DefaultTimeoutMs})", DefaultValueFactory = _ => DefaultTimeoutMs };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = $"Read the API key from this environment variable (default {SessionsClientOptions.ApiKeyVariable})" };
        var configDir = CommonArguments.ConfigDir(required: false);
        configDir.Description = "Where the hook keeps its log when the payload names no transcript (default CLAUDE_CONFIG_DIR, else ~/.claude); otherwise the transcript's own config folder";
        var command = new Command("hook", "Run as a Claude Code hook: read the hook's JSON on stdin, push the session's new lines; always exits 0 and prints nothing") { timeout, apiKeyEnv, configDir };
        command.SetAction(async (result, ct) =>
        {
            await RunAsync(context, result, Math.Clamp(result.GetValue(timeout), 100, 600_000), result.GetValue(apiKeyEnv), result.GetValue(configDir)!, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task RunAsync(CliContext context, ParseResult result, int timeoutMs, string? apiKeyEnv, string configDir, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(timeoutMs);
        var status = new JsonObject { ["at"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture) };
        try
        {
            var payload = HookPayload.Parse(await context.In.ReadToEndAsync(budget.Token).ConfigureAwait(false), out var why);
            if (payload is null)
            {
                status["outcome"] = "skipped";
                status["message"] = why;
                return;
            }

            status["event"] = payload.Event;
            status["sessionId"] = payload.SessionId;
            if (TranscriptLocation(payload) is not { } location)
            {
                status["outcome"] = "skipped";
                status["message"] = $"{payload.TranscriptPath} is not <config>/projects/<project>/{payload.SessionId}.jsonl";
                return;
            }

            (configDir, var localProjectKey) = location;
            var projectKey = await HookSync.ServerProjectAsync(configDir, localProjectKey, payload.SessionId, budget.Token).ConfigureAwait(false);
            status["projectKey"] = projectKey;
            using var client = context.CreateClient(result, apiKeyEnv);
            var outcome = await new HookSync(client, configDir, localProjectKey, projectKey, payload.SessionId).RunAsync(budget.Token).ConfigureAwait(false);
            status["appended"] = outcome.Appended;
            status["files"] = outcome.Files;
            status["outcome"] = outcome.Diverged.Count > 0 ? "diverged" : "synced";
            if (outcome.Diverged.Count > 0)
            {
                status["message"] = $"not pushed, the server's copy is not a prefix of: {string.Join(", ", outcome.Diverged)} (see 'sessions pull {payload.SessionId} --force' or 'sessions push')";
            }

            if (outcome.Rejected.Count > 0)
            {
                status["rejected"] = new JsonArray([.. outcome.Rejected.Select(r => (JsonNode)r)]);
            }
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested)
        {
            status["outcome"] = "timed out";
            status["message"] = $"stopped after {timeoutMs} ms; the next event or 'sessions push' sends the rest";
        }
        catch (Exception ex)
        {
            // Whatever happened, Claude Code's session goes on: the reason is kept for 'sessions hooks status'.
            status["outcome"] = "failed";
            status["message"] = ex is SessionsApiException or HttpRequestException or CliException ? ex.Message : ex.ToString();
        }
        finally
        {
            status["ms"] = (long)clock.Elapsed.TotalMilliseconds;
            Record(configDir, status);
        }
    }

    // <config>/projects/<projectKey>/<sessionId>.jsonl, as Claude Code lays transcripts out.
    private static (string ConfigDir, string ProjectKey)? TranscriptLocation(HookPayload payload)
    {
        var file = Path.GetFullPath(payload.TranscriptPath);
        var projectDir = Path.GetDirectoryName(file);
        var projects = projectDir is null ? null : Path.GetDirectoryName(projectDir);
        return Path.GetFileName(file) == payload.SessionId + ".jsonl" && projects is not null && Path.GetFileName(projects) == "projects" && Path.GetDirectoryName(projects) is { } config
            ? (config, Path.GetFileName(projectDir!))
            : null;
    }

    // The last run (hooks-status.json) and one line per run in hooks.log (kept under 1 MiB: the older half rolls to .1).
    private static void Record(string configDir, JsonObject status)
    {
        try
        {
            var dir = HookSync.StateDir(configDir);
            Directory.CreateDirectory(dir);
            // Whole or not at all: hooks of several sessions may finish at once.
            var file = Path.Combine(dir, "hooks-status.json");
            var temp = $"{file}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.tmp";
            File.WriteAllText(temp, HookSync.Json(status));
            File.Move(temp, file, overwrite: true);
            var log = Path.Combine(dir, "hooks.log");
            if (File.Exists(log) && new FileInfo(log).Length > 1024 * 1024)
            {
                File.Move(log, log + ".1", overwrite: true);
            }

            File.AppendAllText(log, HookSync.Json(status, indented: false) + "\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nowhere to write: nothing may be printed either.
        }
    }
}
