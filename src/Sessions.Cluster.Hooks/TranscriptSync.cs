using System.Globalization;
using System.Text;
using System.Text.Json;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Hooks;

/// <summary>
/// Sends transcripts from a Claude Code config folder (<c>projects/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>,
/// subagents under <c>&lt;sessionId&gt;/subagents/</c>) to the server. Sending is incremental and idempotent: the
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


    /// <summary>Sends the lines of <paramref name="localPath"/> that the server does not have yet.</summary>
    /// <param name="client">The server's client.</param>
    /// <param name="projectKey">The session's project key.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="subpath">A subagent transcript's subpath, or null for the main one.</param>
    /// <param name="localPath">The local JSONL file.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <param name="assumeNew">True when the server most likely has no such transcript (an import): the lines are first
    /// sent fenced at length 0, one round trip instead of two, and only a refusal (409
    /// <c>append_position_conflict</c>: the server has some) makes it read the server's copy and compare, as without it.
    /// The entry count then covers what was sent after that read.</param>
    /// <exception cref="SessionsApiException">The server refused (other than the fence above).</exception>
    public static async Task<SendResult> SendAsync(SessionsClient client, string projectKey, string sessionId, string? subpath, string localPath, CancellationToken cancellationToken, bool assumeNew = false)
    {
        var local = await File.ReadAllBytesAsync(localPath, cancellationToken).ConfigureAwait(false);
        var lastActivity = new DateTimeOffset(File.GetLastWriteTimeUtc(localPath)).ToUnixTimeMilliseconds();
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        if (assumeNew && committed > 0)
        {
            try
            {
                return await SendAfterAsync(client, projectKey, sessionId, subpath, local, 0, lastActivity, cancellationToken).ConfigureAwait(false);
            }
            catch (SessionsApiException ex) when (ex.Code == "append_position_conflict")
            {
                // The server has this transcript already: compare with its copy below.
            }
        }

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
    }}
