using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Hooks;

/// <summary>
/// One run of the hook Claude Code calls on <c>Stop</c>, <c>SubagentStop</c>, <c>PreCompact</c> and <c>SessionEnd</c>
/// (<c>sessions hook</c> and the native <c>sessions-hook</c> run this same code): reads the hook's JSON, pushes the
/// session's new lines (<see cref="HookSync"/>) within a time budget. It must never hurt the user's session
/// (https://code.claude.com/docs/en/hooks, "Exit code output": 2 blocks, other non-zero codes show stderr to the user),
/// so it throws nothing and prints nothing; what it did goes to <c>&lt;config&gt;/sessions-cluster/hooks.log</c> and the
/// last run to <c>hooks-status.json</c> beside it (<c>sessions hooks status</c> shows it). A run that cannot finish
/// (server down, budget spent) leaves the rest to the next event or <c>sessions push</c>: pushes are incremental.
/// </summary>
public static class HookRun
{
    /// <summary>The hook's default time budget, in milliseconds.</summary>
    public const int DefaultTimeoutMs = 2000;

    /// <summary>Runs the hook once; never throws.</summary>
    /// <param name="input">The hook's JSON, as Claude Code writes it to stdin.</param>
    /// <param name="url">The server's base URL (absolute; a run with another records why and stops).</param>
    /// <param name="apiKey">The API key, or null.</param>
    /// <param name="tenant">The tenant (when the server trusts a tenant header), or null.</param>
    /// <param name="timeoutMs">The time budget, in milliseconds (clamped to 100 ms – 10 minutes).</param>
    /// <param name="configDir">Where the log goes when the payload names no transcript in a config folder.</param>
    /// <param name="cancellationToken">Stops the run early.</param>
    public static async Task RunAsync(TextReader input, string url, string? apiKey, string? tenant, int timeoutMs, string configDir, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        timeoutMs = Math.Clamp(timeoutMs, 100, 600_000);
        var clock = Stopwatch.StartNew();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(timeoutMs);
        var status = new JsonObject { ["at"] = DateTimeOffset.UtcNow.ToString("o", CultureInfo.InvariantCulture) };
        try
        {
            var payload = HookPayload.Parse(await input.ReadToEndAsync(budget.Token).ConfigureAwait(false), out var why);
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
            if (!Uri.TryCreate(url, UriKind.Absolute, out var server))
            {
                status["outcome"] = "failed";
                status["message"] = $"'{url}' is not an absolute URL.";
                return;
            }

            var projectKey = await HookSync.ServerProjectAsync(configDir, localProjectKey, payload.SessionId, budget.Token).ConfigureAwait(false);
            status["projectKey"] = projectKey;
            using var client = new SessionsClient(new SessionsClientOptions { Url = server, ApiKey = apiKey, Tenant = tenant });
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
            status["message"] = ex is SessionsApiException or HttpRequestException ? ex.Message : ex.ToString();
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
