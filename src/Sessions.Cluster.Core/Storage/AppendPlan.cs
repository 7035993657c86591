namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Decides which lines of a batch a store writes; every <see cref="ITranscriptStore"/> uses it so all dedupe alike
/// (DESIGN.md §4, the SDK's <c>SessionStore.append</c>: "treat uuid as an idempotency key … entries without a uuid
/// should be appended without dedup").
/// <list type="bullet">
/// <item>An entry whose <c>uuid</c> is already in the log, or earlier in the batch, is skipped.</item>
/// <item>An entry without a uuid is appended, unless the batch repeats it <em>in place</em>: the batch is aligned
/// with the log at its first stored uuid (an SDK retry or an <c>importSessionToStore</c> replay resends lines where
/// they already stand), and a uuid-less entry is skipped when the same entry stands in the log at its aligned
/// position or after it (a line imported from a diverged file lands after what the server wrote meanwhile, and is
/// found there by the next import, so importing a file twice changes nothing). The alignment ends at the first entry
/// that is written and starts again at the next stored uuid.
/// A batch that holds no stored uuid never aligns: its uuid-less entries are always appended (a new tag right after
/// a replay is new; the SDK's import sends 500 entries a batch, so its batches hold uuids). Content seen elsewhere never
/// counts: tagging <c>x</c>, <c>y</c>, then <c>x</c> again appends three lines.</item>
/// </list>
/// </summary>
public static class AppendPlan
{
    /// <summary>The lines to write, in order, and how many were skipped.</summary>
    /// <param name="lines">The batch.</param>
    /// <param name="index">The log's index; the caller holds the log's writer lock and adds the written lines after the write.</param>
    /// <param name="now">The store's clock, Unix epoch milliseconds (unused since a replay is no longer continued across batches).</param>
    public static (List<TranscriptLine> Write, int Skipped) Plan(IReadOnlyList<TranscriptLine> lines, LogIndex index, long now)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(index);
        var write = new List<TranscriptLine>(lines.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var cursor = StartOf(lines, index);
        // Searches past the aligned position read at most twice the log per batch (a batch that keeps re-anchoring on
        // one stored uuid cannot make its planning quadratic); past that a uuid-less entry is written.
        var budget = 2L * index.Count;
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

            if (cursor >= 0 && Find(index, cursor, LogIndex.Identity(line), ref budget) is var found and >= 0)
            {
                cursor = found + 1;
                continue;
            }

            write.Add(line);
            cursor = -1;
        }

        return (write, lines.Count - write.Count);
    }

    // Where the batch's first line stands in the log, or -1: aligned at the first uuid the log holds.
    private static int StartOf(IReadOnlyList<TranscriptLine> lines, LogIndex index)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Uuid is { } uuid)
            {
                var at = index.IndexOf(uuid);
                return at >= 0 && at - i >= 0 ? at - i : -1;
            }
        }

        return -1;
    }

    // The first position at or after `from` of a line with this identity, or -1 (also when the budget is spent).
    private static int Find(LogIndex index, int from, UInt128 identity, ref long budget)
    {
        for (var p = from; p < index.Count && budget-- > 0; p++)
        {
            if (index.IdentityAt(p) == identity)
            {
                return p;
            }
        }

        return -1;
    }
}
