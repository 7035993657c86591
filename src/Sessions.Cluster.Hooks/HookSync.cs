using System.Globalization;
using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Hooks;

/// <summary>
/// One hook run: pushes what Claude Code appended to a session's transcript and its subagent transcripts since the last
/// sync, within a time budget. What was synced is kept beside the config folder's projects
/// (<c>&lt;config&gt;/sessions-cluster/sync/&lt;projectKey&gt;/&lt;sessionId&gt;.json</c>: per file, the length the server
/// has and a hash of those bytes), so a run reads the local files and sends only their new lines, fenced by the server's
/// length, without downloading the server's copy; when the server moved (another machine, another Claude Code on the
/// same session) or nothing is known, the server's copy is compared first, as <c>sessions push</c> does. A diverged
/// file is reported, never pushed over. Runs of one session are one at a time (a lock file).
/// </summary>
/// <param name="client">The server.</param>
/// <param name="configDir">The Claude Code config folder.</param>
/// <param name="localProjectKey">The project folder the session's files are in.</param>
/// <param name="projectKey">The session's project key on the server (<see cref="ServerProjectAsync"/>).</param>
/// <param name="sessionId">The session.</param>
internal sealed class HookSync(SessionsClient client, string configDir, string localProjectKey, string projectKey, string sessionId)
{
    /// <summary>The folder of the hook's own files under a config folder.</summary>
    public static string StateDir(string configDir) => Path.Combine(configDir, "sessions-cluster");

    private static string LinkPath(string configDir, string localProjectKey, string sessionId) =>
        Path.Combine(StateDir(configDir), "links", localProjectKey, sessionId + ".json");

    private static string SyncPath(string configDir, string localProjectKey, string sessionId) =>
        Path.Combine(StateDir(configDir), "sync", localProjectKey, sessionId + ".json");

    /// <summary>
    /// The server's project key of a session whose files are in <paramref name="localProjectKey"/>: the key a resume
    /// recorded (<see cref="RecordPullAsync"/>; the session was started on a machine where its folder had another path), else
    /// the local key itself.
    /// </summary>
    public static async Task<string> ServerProjectAsync(string configDir, string localProjectKey, string sessionId, CancellationToken cancellationToken)
    {
        try
        {
            var link = JsonNode.Parse(await File.ReadAllTextAsync(LinkPath(configDir, localProjectKey, sessionId), cancellationToken).ConfigureAwait(false));
            return link?["projectKey"]?.GetValue<string>() is { Length: > 0 } key ? key : localProjectKey;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException or InvalidOperationException)
        {
            return localProjectKey;
        }
    }

    /// <summary>
    /// Records what a pull wrote into <paramref name="localProjectKey"/>: the server project it came from (when the
    /// keys differ, so the hooks push back into the same session) and each file as synced, so the next hook sends only
    /// what Claude Code adds.
    /// </summary>
    public static async Task RecordPullAsync(string configDir, string localProjectKey, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var link = LinkPath(configDir, localProjectKey, sessionId);
        if (localProjectKey != projectKey)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            await WriteAtomicAsync(link, new JsonObject { ["projectKey"] = projectKey }.ToJsonString(), cancellationToken).ConfigureAwait(false);
        }
        else if (File.Exists(link))
        {
            File.Delete(link);
        }

        var projectDir = Path.Combine(configDir, "projects", localProjectKey);
        var state = new JsonObject();
        foreach (var (key, path) in new[] { ("", Path.Combine(projectDir, sessionId + ".jsonl")) }.Concat(TranscriptSync.LocalSubpaths(projectDir, sessionId)))
        {
            var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            state[key] = new JsonObject { ["length"] = bytes.Length, ["hash"] = Hash(bytes, bytes.Length) };
        }

        var sync = SyncPath(configDir, localProjectKey, sessionId);
        Directory.CreateDirectory(Path.GetDirectoryName(sync)!);
        await WriteAtomicAsync(sync, state.ToJsonString(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What one run did.</summary>
    /// <param name="Appended">Entries the server wrote.</param>
    /// <param name="Files">Files checked.</param>
    /// <param name="Diverged">Files whose server copy is not a prefix of the local file (not pushed).</param>
    /// <param name="Rejected">Local lines not sent (not JSON objects with a type, or too large), as <c>file:line: why</c>.</param>
    public sealed record Outcome(int Appended, int Files, IReadOnlyList<string> Diverged, IReadOnlyList<string> Rejected);

    /// <summary>Pushes the main transcript and every local subagent transcript of the session.</summary>
    /// <exception cref="TimeoutException">The session's lock was not free within the budget.</exception>
    public async Task<Outcome> RunAsync(CancellationToken cancellationToken)
    {
        var projectDir = Path.Combine(configDir, "projects", localProjectKey);
        var stateFile = SyncPath(configDir, localProjectKey, sessionId);
        Directory.CreateDirectory(Path.GetDirectoryName(stateFile)!);
        await using var held = await LockAsync(stateFile + ".lock", cancellationToken).ConfigureAwait(false);
        var state = await ReadStateAsync(stateFile, cancellationToken).ConfigureAwait(false);
        var files = new List<(string Key, string? Subpath, string Path)> { ("", null, Path.Combine(projectDir, sessionId + ".jsonl")) };
        files.AddRange(TranscriptSync.LocalSubpaths(projectDir, sessionId).Select(l => (l.Subpath, (string?)l.Subpath, l.Path)));
        var appended = 0;
        var diverged = new List<string>();
        var rejected = new List<string>();
        try
        {
            foreach (var (key, subpath, path) in files)
            {
                if (!File.Exists(path))
                {
                    continue;
                }

                var result = await SendFileAsync(subpath, path, state[key] as JsonObject, cancellationToken).ConfigureAwait(false);
                appended += result.Result.Appended;
                rejected.AddRange(result.Result.Rejected.Select(r => $"{path}:{r.Line}: {r.Reason}"));
                if (result.Result.Diverged)
                {
                    diverged.Add(path);
                    state.Remove(key);
                }
                else
                {
                    state[key] = result.Synced;
                }
            }
        }
        finally
        {
            await WriteAtomicAsync(stateFile, state.ToJsonString(), CancellationToken.None).ConfigureAwait(false);
        }

        return new Outcome(appended, files.Count(f => File.Exists(f.Path)), diverged, rejected);
    }

    private async Task<(TranscriptSync.SendResult Result, JsonObject? Synced)> SendFileAsync(string? subpath, string path, JsonObject? known, CancellationToken cancellationToken)
    {
        var local = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var lastActivity = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeMilliseconds();
        TranscriptSync.SendResult result;
        if (known?["length"]?.GetValue<long>() is { } length && length <= local.Length && known["hash"]?.GetValue<string>() == Hash(local, length))
        {
            try
            {
                result = await TranscriptSync.SendAfterAsync(client, projectKey, sessionId, subpath, local, length, lastActivity, cancellationToken).ConfigureAwait(false);
            }
            catch (SessionsApiException ex) when (ex.Code == "append_position_conflict")
            {
                // The server moved since the last sync: compare with its copy.
                result = await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, cancellationToken).ConfigureAwait(false);
                local = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            result = await TranscriptSync.SendAsync(client, projectKey, sessionId, subpath, path, cancellationToken).ConfigureAwait(false);
            local = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }

        // What the server now has is a prefix of what was read, unless the file changed under the send (then the next
        // run compares again).
        JsonObject? synced = !result.Diverged && result.Length <= local.Length
            ? new JsonObject { ["length"] = result.Length, ["hash"] = Hash(local, result.Length) }
            : null;
        return (result, synced);
    }

    private static string Hash(byte[] bytes, long length) =>
        Convert.ToHexString(XxHash128.Hash(bytes.AsSpan(0, (int)length)));

    private static async Task<JsonObject> ReadStateAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)) as JsonObject ?? [];
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException or InvalidOperationException)
        {
            // Nothing known (or a damaged record): the next send compares with the server's copy.
            return [];
        }
    }

    // One run per session at a time: an exclusive handle on a lock file, retried until the budget ends.
    private static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException) when (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(25, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes a file whole or not at all (a temporary file renamed over it).</summary>
    public static async Task WriteAtomicAsync(string path, string text, CancellationToken cancellationToken)
    {
        var temp = $"{path}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.tmp";
        await File.WriteAllTextAsync(temp, text, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Serializes a record for the hook's status file and log (indented or on one line), as plain UTF-8.</summary>
    public static string Json(JsonObject node, bool indented = true) =>
        node.ToJsonString(new JsonSerializerOptions { WriteIndented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
