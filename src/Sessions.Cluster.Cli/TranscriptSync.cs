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
    /// <param name="Rejected">Local lines that are not JSON objects with a string <c>type</c> (not sent).</param>
    /// <param name="Diverged">True when the server's transcript is not a prefix of the local file (nothing sent).</param>
    public sealed record SendResult(int Appended, int Rejected, bool Diverged);

    /// <summary>Sends the lines of <paramref name="localPath"/> that the server does not have yet.</summary>
    public static async Task<SendResult> SendAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, string localPath, CancellationToken cancellationToken)
    {
        var local = await File.ReadAllBytesAsync(localPath, cancellationToken).ConfigureAwait(false);
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        var remote = await client.GetTranscriptAsync(projectKey, sessionId, subpath, cancellationToken).ConfigureAwait(false);
        long length = 0;
        if (remote is not null)
        {
            if (remote.Length > committed || !local.AsSpan(0, remote.Length).SequenceEqual(remote))
            {
                return new SendResult(0, 0, Diverged: true);
            }

            length = remote.Length;
        }

        var batch = new List<string>();
        var batchBytes = 0;
        int appended = 0, rejected = 0;
        var at = (int)length;
        while (at < committed)
        {
            var nl = Array.IndexOf(local, (byte)'\n', at);
            var line = local.AsSpan(at, nl - at);
            at = nl + 1;
            if (line.Trim((byte)' ').IsEmpty)
            {
                continue;
            }

            if (!IsEntry(line))
            {
                rejected++;
                continue;
            }

            batch.Add(Encoding.UTF8.GetString(line));
            batchBytes += line.Length;
            if (batch.Count >= BatchEntries || batchBytes >= BatchBytes)
            {
                (length, var n) = await FlushAsync(client, projectKey, sessionId, subpath, batch, length, cancellationToken).ConfigureAwait(false);
                appended += n;
                batchBytes = 0;
            }
        }

        if (batch.Count > 0)
        {
            (_, var n) = await FlushAsync(client, projectKey, sessionId, subpath, batch, length, cancellationToken).ConfigureAwait(false);
            appended += n;
        }

        return new SendResult(appended, rejected, Diverged: false);
    }

    /// <summary>
    /// Writes a session and its subpaths into <c>&lt;configDir&gt;/projects/&lt;projectKey&gt;/</c> exactly as Claude
    /// Code lays them out, byte for byte, so <c>claude --resume &lt;id&gt;</c> and the SDK find it there.
    /// </summary>
    /// <returns>The files written.</returns>
    public static async Task<List<string>> PullAsync(SessionsClient client, string projectKey, string sessionId, string configDir, CancellationToken cancellationToken)
    {
        var projectDir = Path.GetFullPath(Path.Combine(configDir, "projects", projectKey));
        var main = await client.GetTranscriptAsync(projectKey, sessionId, null, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.NotFound, $"Session '{sessionId}' was not found in project '{projectKey}'.");
        var written = new List<string>();
        await WriteAtomicAsync(Path.Combine(projectDir, sessionId + ".jsonl"), main, cancellationToken).ConfigureAwait(false);
        written.Add(Path.Combine(projectDir, sessionId + ".jsonl"));
        foreach (var subpath in await client.ListSubkeysAsync(projectKey, sessionId, cancellationToken).ConfigureAwait(false))
        {
            var target = Path.GetFullPath(Path.Combine(projectDir, sessionId, subpath + ".jsonl"));
            if (!target.StartsWith(projectDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new CliException(ExitCodes.InvalidInput, $"The server sent a subpath that escapes the project folder: '{subpath}'.");
            }

            var bytes = await client.GetTranscriptAsync(projectKey, sessionId, subpath, cancellationToken).ConfigureAwait(false);
            if (bytes is not null)
            {
                await WriteAtomicAsync(target, bytes, cancellationToken).ConfigureAwait(false);
                written.Add(target);
            }
        }

        return written;
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

    private static async Task<(long Length, int Appended)> FlushAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, List<string> batch, long length, CancellationToken cancellationToken)
    {
        var result = await client.AppendLinesAsync(projectKey, sessionId, subpath, batch, length, cancellationToken).ConfigureAwait(false);
        batch.Clear();
        return (result.Length, result.Appended);
    }

    private static bool IsEntry(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            using var doc = JsonDocument.ParseValue(ref reader);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
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
