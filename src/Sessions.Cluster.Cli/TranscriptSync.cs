using System.Globalization;
using System.Text;
using System.Text.Json;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Cli;

/// <summary>
/// Moves transcripts between a Claude Code config folder (<c>projects/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>,
/// subagents under <c>&lt;sessionId&gt;/subagents/</c>) and the server. Sending is incremental and idempotent: the
/// server's transcript must be a byte prefix of the local file, and only the lines after it are appended, fenced by
/// the server's length, in batches the size the SDK uses (≤ 500 entries, ≤ 1 MiB).
/// </summary>
public static class TranscriptSync
{
    /// <summary>Most entries per append (the SDK's batch size).</summary>
    public const int BatchEntries = 500;

    /// <summary>Most bytes per append (the SDK's 1 MiB).</summary>
    public const int BatchBytes = 1024 * 1024;

    /// <summary>What sending one file did.</summary>
    /// <param name="Appended">Entries the server wrote.</param>
    /// <param name="Rejected">Local lines that are not JSON objects with a string <c>type</c> (not sent), by 1-based line number.</param>
    /// <param name="Diverged">True when the server's transcript is not a prefix of the local file (nothing sent).</param>
    /// <param name="Length">The server's transcript length in bytes after the send (what it had, when diverged).</param>
    public sealed record SendResult(int Appended, IReadOnlyList<RejectedLine> Rejected, bool Diverged, long Length = 0);

    /// <summary>A local line that was not sent.</summary>
    /// <param name="Line">1-based line number in the file.</param>
    /// <param name="Reason">Why, in a sentence.</param>
    public sealed record RejectedLine(int Line, string Reason);

    /// <summary>What a local file holds that the server's copy lacks (pull refuses to overwrite it).</summary>
    /// <param name="Path">The local file.</param>
    /// <param name="LocalOnlyLines">Lines of the file the server's copy does not have.</param>
    /// <param name="Pushable">True when the server's copy is a prefix of the file, so <c>push</c> would send those lines.</param>
    public sealed record LocalWork(string Path, int LocalOnlyLines, bool Pushable);

    /// <summary>Sends the lines of <paramref name="localPath"/> that the server does not have yet.</summary>
    public static async Task<SendResult> SendAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, string localPath, CancellationToken cancellationToken)
    {
        var local = await File.ReadAllBytesAsync(localPath, cancellationToken).ConfigureAwait(false);
        var lastActivity = new DateTimeOffset(File.GetLastWriteTimeUtc(localPath)).ToUnixTimeMilliseconds();
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        var remote = await client.GetTranscriptAsync(projectKey, sessionId, subpath, cancellationToken).ConfigureAwait(false);
        long length = 0;
        if (remote is not null)
        {
            if (remote.Length > committed || !local.AsSpan(0, remote.Length).SequenceEqual(remote))
            {
                return new SendResult(0, [], Diverged: true, remote.Length);
            }

            length = remote.Length;
        }

        return await SendAfterAsync(client, projectKey, sessionId, subpath, local, length, lastActivity, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the complete lines of <paramref name="local"/> after byte <paramref name="length"/>, which the caller knows
    /// is the server's length and a prefix of <paramref name="local"/>; every append is fenced by the length it expects,
    /// so a server that moved meanwhile answers 409 (<see cref="SessionsApiException"/>, code
    /// <c>append_position_conflict</c>) and nothing is interleaved.
    /// </summary>
    public static async Task<SendResult> SendAfterAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, byte[] local, long length, long lastActivity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(local);
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        var batch = new List<(string Text, int Line)>();
        var batchBytes = 0;
        var appended = 0;
        var rejected = new List<RejectedLine>();
        var at = (int)length;
        var lineNumber = local.AsSpan(0, at).Count((byte)'\n');
        var totalLines = local.AsSpan(0, committed).Count((byte)'\n');
        while (at < committed)
        {
            var nl = Array.IndexOf(local, (byte)'\n', at);
            var line = local.AsSpan(at, nl - at);
            at = nl + 1;
            lineNumber++;
            if (line.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }

            if (WhyNotAnEntry(line) is { } reason)
            {
                rejected.Add(new RejectedLine(lineNumber, reason));
                continue;
            }

            batch.Add((Encoding.UTF8.GetString(line), lineNumber));
            batchBytes += line.Length;
            if ((batch.Count >= BatchEntries || batchBytes >= BatchBytes) && !await FlushBatchAsync())
            {
                break;
            }
        }

        if (batch.Count > 0)
        {
            await FlushBatchAsync().ConfigureAwait(false);
        }

        return new SendResult(appended, rejected, Diverged: false, length);

        // False when the server refused a line as too large: the server's copy must stay a prefix of the file, so
        // sending stops at that line.
        async Task<bool> FlushBatchAsync()
        {
            var (newLength, n, tooLarge) = await FlushAsync(client, projectKey, sessionId, subpath, batch, length, lastActivity, cancellationToken).ConfigureAwait(false);
            (length, appended, batchBytes) = (newLength, appended + n, 0);
            if (tooLarge is { } big)
            {
                rejected.Add(big with { Reason = $"{big.Reason}; it and the {totalLines - big.Line} line(s) after it were not sent" });
                return false;
            }

            return true;
        }
    }

    /// <summary>
    /// Writes a session and its subpaths into <c>&lt;configDir&gt;/projects/&lt;projectKey&gt;/</c> exactly as Claude
    /// Code lays them out, byte for byte, so <c>claude --resume &lt;id&gt;</c> and the SDK find it there, and sets the
    /// transcript's mtime to the session's last activity (so <c>claude --continue</c> picks the same session). Local
    /// files holding lines the server lacks are never overwritten unless <paramref name="force"/>, which first copies
    /// each of them to <c>&lt;file&gt;.bak-&lt;utc time&gt;</c>.
    /// </summary>
    /// <returns>The files written and the backups made.</returns>
    /// <exception cref="CliException">A local file has lines the server lacks and <paramref name="force"/> is false (exit code
    /// <see cref="ExitCodes.Conflict"/>; the message names each file, its local-only lines and what to run); nothing was written.</exception>
    /// <param name="client">The server.</param>
    /// <param name="projectKey">The session's project key on the server.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="configDir">The Claude Code config folder.</param>
    /// <param name="force">Overwrite local lines the server lacks (after a backup).</param>
    /// <param name="cancellationToken">Cancels the pull.</param>
    /// <param name="localProjectKey">The project folder to write into when it is not <paramref name="projectKey"/>
    /// (a resume on a machine whose working directory has another path).</param>
    public static async Task<(List<string> Written, List<string> Backups)> PullAsync(SessionsClient client, string projectKey, string sessionId, string configDir, bool force, CancellationToken cancellationToken, string? localProjectKey = null)
    {
        var projectDir = Path.GetFullPath(Path.Combine(configDir, "projects", localProjectKey ?? projectKey));
        var main = await client.GetTranscriptAsync(projectKey, sessionId, null, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.NotFound, $"Session '{sessionId}' was not found in project '{projectKey}'.");
        var info = await client.GetInfoAsync(projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        var files = new List<(string Path, byte[] Bytes)> { (Path.Combine(projectDir, sessionId + ".jsonl"), main) };
        var remoteSubpaths = await client.ListSubkeysAsync(projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        foreach (var subpath in remoteSubpaths)
        {
            var target = Path.GetFullPath(Path.Combine(projectDir, sessionId, subpath + ".jsonl"));
            if (!target.StartsWith(projectDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new CliException(ExitCodes.InvalidInput, $"The server sent a subpath that escapes the project folder: '{subpath}'.");
            }

            if (await client.GetTranscriptAsync(projectKey, sessionId, subpath, cancellationToken).ConfigureAwait(false) is { } bytes)
            {
                files.Add((target, bytes));
            }
        }

        // Everything local the server lacks: files the pull would overwrite, and local subagent files it has no copy of.
        var work = new List<LocalWork>();
        foreach (var (path, bytes) in files)
        {
            if (File.Exists(path) && LocalOnly(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), bytes) is { } w)
            {
                work.Add(w with { Path = path });
            }
        }

        foreach (var (subpath, path) in LocalSubpaths(projectDir, sessionId).Where(l => !remoteSubpaths.Contains(l.Subpath)))
        {
            if (LocalOnly(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), []) is { } w)
            {
                work.Add(w with { Path = path });
            }
        }

        var backups = new List<string>();
        if (work.Count > 0 && !force)
        {
            throw new CliException(ExitCodes.Conflict, RefusalMessage(work, sessionId, configDir));
        }

        foreach (var w in work.Where(w => files.Any(f => f.Path == w.Path)))
        {
            var backup = $"{w.Path}.bak-{DateTime.UtcNow:yyyyMMddTHHmmssZ}";
            File.Copy(w.Path, backup, overwrite: false);
            backups.Add(backup);
        }

        var written = new List<string>();
        foreach (var (path, bytes) in files)
        {
            await WriteAtomicAsync(path, bytes, cancellationToken).ConfigureAwait(false);
            written.Add(path);
        }

        File.SetLastWriteTimeUtc(files[0].Path, DateTimeOffset.FromUnixTimeMilliseconds(info.LastModified).UtcDateTime);
        return (written, backups);
    }

    private static string RefusalMessage(List<LocalWork> work, string sessionId, string configDir)
    {
        var text = new StringBuilder($"Not pulled: local work on session {sessionId} was never pushed, and pulling would overwrite it.\n");
        foreach (var w in work)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {w.Path}: {w.LocalOnlyLines} line{(w.LocalOnlyLines == 1 ? "" : "s")} the server lacks");
            text.Append(w.Pushable ? "\n" : " (the server's copy differs earlier too: push cannot send them)\n");
        }

        text.Append(work.All(w => w.Pushable)
            ? $"Send them first with: sessions push {sessionId} --config-dir {configDir}\n"
            : "Keep what you need from these files first.\n");
        text.Append("Or replace the local files with the server's copy (each is kept as <file>.bak-<time>): add --force");
        return text.ToString();
    }

    // The lines of a local file the server's copy lacks, or null when the local file is a prefix of the server's
    // (nothing to lose). Pushable when the server's copy is a prefix of the local file.
    private static LocalWork? LocalOnly(byte[] local, byte[] remote)
    {
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        if (committed <= remote.Length && local.AsSpan(0, committed).SequenceEqual(remote.AsSpan(0, committed)))
        {
            return null;
        }

        // The common prefix in whole lines, then the non-blank lines after it.
        var same = local.AsSpan(0, committed).CommonPrefixLength(remote);
        var start = same == 0 ? 0 : local.AsSpan(0, same).LastIndexOf((byte)'\n') + 1;
        var count = 0;
        foreach (var line in Encoding.UTF8.GetString(local, start, committed - start).Split('\n'))
        {
            count += line.Trim().Length > 0 ? 1 : 0;
        }

        var pushable = remote.Length <= committed && local.AsSpan(0, remote.Length).SequenceEqual(remote);
        return count == 0 ? null : new LocalWork(string.Empty, count, pushable);
    }

    /// <summary>Subagent transcripts of a local session: (subpath, file) pairs under <c>&lt;sessionId&gt;/</c>.</summary>
    public static IEnumerable<(string Subpath, string Path)> LocalSubpaths(string projectDir, string sessionId)
    {
        var dir = Path.Combine(projectDir, sessionId);
        if (!Directory.Exists(dir))
        {
            return [];
        }

        return Directory.EnumerateFiles(dir, "*.jsonl", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(dir, f)[..^".jsonl".Length].Replace(Path.DirectorySeparatorChar, '/'), f));
    }

    // Sends a batch; when the server refuses an entry as too large, sends the lines before it and names it.
    private static async Task<(long Length, int Appended, RejectedLine? TooLarge)> FlushAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, List<(string Text, int Line)> batch, long length, long lastActivity, CancellationToken cancellationToken)
    {
        try
        {
            var result = await client.AppendLinesAsync(projectKey, sessionId, subpath, batch.ConvertAll(b => b.Text), length, cancellationToken, lastActivity).ConfigureAwait(false);
            return (result.Length, result.Appended, null);
        }
        catch (SessionsApiException ex) when (ex.Code == "entry_too_large" && ex.Limit is { } limit)
        {
            var first = batch.FindIndex(b => Encoding.UTF8.GetByteCount(b.Text) > limit);
            if (first < 0)
            {
                throw;
            }

            var tooLarge = new RejectedLine(batch[first].Line, $"{Encoding.UTF8.GetByteCount(batch[first].Text)} bytes, over the server's entry limit of {limit}");
            if (first == 0)
            {
                return (length, 0, tooLarge);
            }

            var result = await client.AppendLinesAsync(projectKey, sessionId, subpath, batch.GetRange(0, first).ConvertAll(b => b.Text), length, cancellationToken, lastActivity).ConfigureAwait(false);
            return (result.Length, result.Appended, tooLarge);
        }
        finally
        {
            batch.Clear();
        }
    }

    private static string? WhyNotAnEntry(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line, Sessions.Cluster.Core.Storage.EntryLimits.LineReaderOptions);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind != JsonValueKind.Object ? "not a JSON object"
                : doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? null
                : "no string \"type\"";
        }
        catch (JsonException ex)
        {
            return $"not valid JSON ({ex.Message})";
        }
    }

    private static async Task WriteAtomicAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Environment.ProcessId;
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }
}
