namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Decides which lines of a batch a store writes; every <see cref="ITranscriptStore"/> uses it so all dedupe alike.
/// <list type="bullet">
/// <item>An entry whose <c>uuid</c> is already in the log, or earlier in the batch, is skipped (the SDK's idempotency key).</item>
/// <item>An entry without a uuid is appended (titles, tags, markers), except in a <em>replayed batch</em>: a batch that
/// has uuid-bearing entries, all of them already stored, repeats a batch the store acknowledged before (an SDK
/// retry or an <c>importSessionToStore</c> replay), so none of its entries is written and a replay leaves the
/// transcript unchanged.</item>
/// </list>
/// </summary>
public static class AppendPlan
{
    /// <summary>The lines to write, in order, and how many were skipped.</summary>
    /// <param name="lines">The batch.</param>
    /// <param name="isStored">Whether a uuid is already in the log.</param>
    public static (List<TranscriptLine> Write, int Skipped) Plan(IReadOnlyList<TranscriptLine> lines, Func<string, bool> isStored)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(isStored);
        var withUuid = 0;
        var storedUuid = 0;
        foreach (var line in lines)
        {
            if (line.Uuid is not null)
            {
                withUuid++;
                if (isStored(line.Uuid))
                {
                    storedUuid++;
                }
            }
        }

        if (withUuid > 0 && storedUuid == withUuid)
        {
            return ([], lines.Count);
        }

        var write = new List<TranscriptLine>(lines.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            if (line.Uuid is null || (!isStored(line.Uuid) && seen.Add(line.Uuid)))
            {
                write.Add(line);
            }
        }

        return (write, lines.Count - write.Count);
    }
}
