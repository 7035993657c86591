namespace Sessions.Cluster.Grains;

/// <summary>
/// The session's hot logs: once read, a log of at most <see cref="SessionGrainOptions.HotTranscriptBytes"/> stays in
/// this activation's memory (within the silo's <see cref="HotTranscriptBudget"/>), so later views carry its bytes and
/// readers download nothing: each view asks storage for the committed length only; an append through the grain extends
/// the copy with its own lines, and whatever else was added since is read with one range read. Any other write through the grain (rename, tag, delete, expiry, purge, restore, a fork's
/// write) drops every copy, so a copy is always a prefix of the log as committed.
/// </summary>
public sealed partial class SessionGrain
{
    // Calls that never change a transcript: they keep the copies.
    private static readonly HashSet<string> KeepsHotLogs =
        [nameof(Append), nameof(GetView), nameof(GetInfo), nameof(ListSubkeys), nameof(Fork), nameof(ForkWritten), nameof(PutSummary), nameof(GetMessages), nameof(GetSubagentMessages), nameof(GetContext), nameof(GetTranscriptPage)];

    private readonly Dictionary<string, HotLog> _hot = new(StringComparer.Ordinal);
    private int _hotGeneration;

    // Counts writes other than appends (and appends whose outcome is unknown): kept messages of an older count are
    // not extended, and a read that started before one does not keep what it read.
    private int _writes;

    // The view of a stored log from memory, filling or extending the copy first; null when it is not kept (off, too
    // big, over the budget, or storage answered short), and the caller reads storage as before. The length is always
    // storage's (one probe, not a download), so a write a duplicate activation made during a membership change is seen
    // as it is without a copy.
    private async Task<TranscriptView?> HotViewAsync(string? subpath)
    {
        if (options.HotTranscriptBytes <= 0)
        {
            return null;
        }

        var name = subpath ?? "";
        var generation = _hotGeneration;
        if ((await sessions.GetViewAsync(_state, subpath, CancellationToken.None)).Length is not { } committed)
        {
            return new TranscriptView(null, null);
        }

        if (generation != _hotGeneration || committed > options.HotTranscriptBytes)
        {
            DropHotLog(name);
            return null;
        }

        if (!_hot.TryGetValue(name, out var hot))
        {
            if (!budget.TryReserve(committed))
            {
                return null;
            }

            var bytes = await ReadOrNullAsync(subpath, 0, committed);
            if (bytes is null || generation != _hotGeneration || _hot.ContainsKey(name))
            {
                budget.Release(committed);
                return null;
            }

            hot = new HotLog(bytes, bytes.Length);
            _hot[name] = hot;
        }

        if (committed < hot.Length)
        {
            // Shorter than what was kept: not the same log any more.
            DropHotLog(name);
            return null;
        }

        if (committed > hot.Length)
        {
            var start = hot.Length;
            var reserved = hot.Growth(committed);
            if (!budget.TryReserve(reserved))
            {
                DropHotLog(name);
                return null;
            }

            var added = await ReadOrNullAsync(subpath, start, committed - start);
            if (added is null || generation != _hotGeneration || !_hot.TryGetValue(name, out var still) || still != hot || hot.Length != start)
            {
                // Storage answered short, or the copy was dropped or extended by an interleaved read meanwhile.
                budget.Release(reserved);
                return null;
            }

            hot.Extend(added, reserved);
        }

        return View(hot);
    }

    // An append's bytes are its lines, each followed by a newline, when none was skipped as a duplicate: they extend
    // the copy in memory (or start one, for a log this append created), so the next view reads nothing but the length.
    private void KeepAppended(string? subpath, Core.Storage.TranscriptLine[] lines, Core.Storage.AppendResult result)
    {
        if (options.HotTranscriptBytes <= 0 || _state.Ephemeral || result.Appended != lines.Length || result.Appended == 0 || result.Length > options.HotTranscriptBytes
            || lines.Sum(l => (long)l.Json.Length + 1) != result.Bytes)
        {
            return;
        }

        var name = subpath ?? "";
        var start = result.Length - result.Bytes;
        if (!_hot.TryGetValue(name, out var hot))
        {
            if (start != 0 || !budget.TryReserve(result.Bytes))
            {
                return;
            }

            hot = new HotLog(new byte[result.Bytes], 0);
            _hot[name] = hot;
            hot.Extend(Joined(lines, result.Bytes), 0);
            return;
        }

        if (hot.Length != start)
        {
            // Not where this append began (an interleaved read already has it, or missed a write): the next view sees.
            return;
        }

        var reserved = hot.Growth(result.Length);
        if (!budget.TryReserve(reserved))
        {
            DropHotLog(name);
            return;
        }

        hot.Extend(Joined(lines, result.Bytes), reserved);
    }

    private static byte[] Joined(Core.Storage.TranscriptLine[] lines, long bytes)
    {
        var joined = new byte[bytes];
        var at = 0;
        foreach (var line in lines)
        {
            line.Json.Span.CopyTo(joined.AsSpan(at));
            at += line.Json.Length;
            joined[at++] = (byte)'\n';
        }

        return joined;
    }

    // Drops every copy (a write other than an append, or an append whose outcome is unknown).
    private void DropHotLogs()
    {
        DropMessages();
        DropReadModel();
        _writes++;
        _hotGeneration++;
        foreach (var hot in _hot.Values)
        {
            budget.Release(hot.Capacity);
        }

        _hot.Clear();
    }

    private void DropHotLog(string name)
    {
        _hotGeneration++;
        if (_hot.Remove(name, out var hot))
        {
            budget.Release(hot.Capacity);
        }
    }

    private async Task<byte[]?> ReadOrNullAsync(string? subpath, long offset, long count)
    {
        var bytes = await sessions.ReadStoredAsync(_tenant, Key(subpath), offset, count, CancellationToken.None);
        return bytes.Length == count ? bytes : null;
    }

    private static TranscriptView View(HotLog hot) => new(hot.Length, new ReadOnlyMemory<byte>(hot.Buffer, 0, hot.Length));

    /// <summary>One log's bytes [0, Length) in a buffer of Capacity bytes (reserved from the budget).</summary>
    private sealed class HotLog(byte[] buffer, int length)
    {
        public byte[] Buffer { get; private set; } = buffer;

        public int Length { get; private set; } = length;

        public long Capacity => Buffer.Length;

        // Bytes to reserve for the buffer to hold `length` (doubling, so appends rarely copy).
        public long Growth(long length) => length <= Buffer.Length ? 0 : Math.Max(length, 2L * Buffer.Length) - Buffer.Length;

        // Appends bytes after Length, growing the buffer by `reserved` bytes when it must. Views handed out before keep
        // their (old or shared) array: bytes below their length never change.
        public void Extend(byte[] added, long reserved)
        {
            if (Length + added.Length > Buffer.Length)
            {
                var grown = new byte[Buffer.Length + reserved];
                Buffer.AsSpan(0, Length).CopyTo(grown);
                Buffer = grown;
            }

            added.CopyTo(Buffer.AsSpan(Length));
            Length += added.Length;
        }
    }
}
