namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Decides which lines of a batch a store writes; every <see cref="ITranscriptStore"/> uses it so all dedupe alike
/// (DESIGN.md §4, the SDK's <c>SessionStore.append</c>: "treat uuid as an idempotency key … entries without a uuid
/// should be appended without dedup").
/// <list type="bullet">
/// <item>An entry whose <c>uuid</c> is already in the log, or earlier in the batch, is skipped.</item>
/// <item>An entry without a uuid is appended, unless the batch repeats it <em>in place</em>: the batch is aligned
/// with the log at its first stored uuid (an SDK retry or an <c>importSessionToStore</c> replay resends lines where
/// they already stand), and a uuid-less entry is skipped only when the stored line at its aligned position is the
/// same entry. The alignment ends at the first entry that is written. A replay that ended inside the log is
/// continued by the next batch for <see cref="ResumeWindowMs"/> (a replay split so that a batch holds no uuid).
/// Content seen elsewhere never counts: tagging <c>x</c>, <c>y</c>, then <c>x</c> again appends three lines.</item>
/// </list>
/// </summary>
public static class AppendPlan
{
    /// <summary>How long a replay that stopped inside the log may be continued by a batch without uuids: 60 s.</summary>
    public const long ResumeWindowMs = 60_000;

    /// <summary>The lines to write, in order, and how many were skipped. Updates the index's replay position.</summary>
    /// <param name="lines">The batch.</param>
    /// <param name="index">The log's index; the caller holds the log's writer lock and adds the written lines after the write.</param>
    /// <param name="now">The store's clock, Unix epoch milliseconds.</param>
    public static (List<TranscriptLine> Write, int Skipped) Plan(IReadOnlyList<TranscriptLine> lines, LogIndex index, long now)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(index);
        var write = new List<TranscriptLine>(lines.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var cursor = StartOf(lines, index, now);
        foreach (var line in lines)
        {
            if (line.Uuid is { } uuid)
            {
                var at = index.IndexOf(uuid);
                if (at >= 0)
                {
                    cursor = at + 1;
                }
                else
                {
                    if (seen.Add(uuid))
                    {
                        write.Add(line);
                    }

                    cursor = -1;
                }

                continue;
            }

            if (cursor >= 0 && cursor < index.Count && index.IdentityAt(cursor) == LogIndex.Identity(line))
            {
                cursor++;
                continue;
            }

            write.Add(line);
            cursor = -1;
        }

        index.Resume = write.Count == 0 && cursor >= 0 && cursor < index.Count ? (cursor, now) : null;
        return (write, lines.Count - write.Count);
    }

    // Where the batch's first line stands in the log, or -1: aligned at the first uuid the log holds, else where a
    // replay that stopped inside the log left off.
    private static int StartOf(IReadOnlyList<TranscriptLine> lines, LogIndex index, long now)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Uuid is { } uuid)
            {
                var at = index.IndexOf(uuid);
                if (at >= 0)
                {
                    return at - i >= 0 ? at - i : -1;
                }

                break;
            }
        }

        return index.Resume is { } resume && now - resume.At <= ResumeWindowMs ? resume.Position : -1;
    }
}
