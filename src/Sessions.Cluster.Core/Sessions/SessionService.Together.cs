using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// Appends written together: the batches of several callers queued for one log behind an append in flight go out as
/// one storage write (<see cref="ITranscriptLog.AppendBatchesAsync"/>), each caller answered as if alone.
/// </summary>
public sealed partial class SessionService
{
    /// <summary>Most bytes of entries written together: one Append Block (4 MiB).</summary>
    internal const long MaxTogetherBytes = 4L * 1024 * 1024;

    /// <summary>
    /// Whether an append may be written together with others queued for the same log: a plain append of entries that
    /// all carry a uuid (so planning them with the others is planning them one after the other), with no fence, no
    /// sidecar and no imported last activity, whose idempotency key (if any) has no stored answer, to a stored session
    /// whose log writes batches together.
    /// </summary>
    /// <param name="session">The session's state, held by its grain.</param>
    /// <param name="subpath">A subpath, or null for the main transcript.</param>
    /// <param name="lines">The batch.</param>
    /// <param name="expectedLength">The fence the caller sent, or null.</param>
    /// <param name="options">What the append carries besides its entries.</param>
    internal bool CanAppendTogether(SessionState session, string? subpath, IReadOnlyList<TranscriptLine> lines, long? expectedLength, AppendOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(options);
        if (session.Ephemeral || lines.Count == 0 || expectedLength is not null || options.Summary is not null || options.LastActivity is not null)
        {
            return false;
        }

        try
        {
            // The log first: where it writes each batch alone (the embedded store), nothing else need be looked at.
            if (!session.Log(subpath).WritesBatchesTogether)
            {
                return false;
            }
        }
        catch (InvalidKeyException)
        {
            return false; // appended alone, where the caller gets the error
        }

        return !lines.Any(l => l.Uuid is null) && (options.IdempotencyKey is not { } key || !session.Answers.Knows(subpath, key, Now()));
    }

    /// <summary>
    /// Appends the batches of several callers to one log in one storage write (each passed
    /// <see cref="CanAppendTogether"/>, in the order they were queued), records each idempotency key's answer, and lets
    /// the catalog row and the content index follow once for all of them.
    /// </summary>
    /// <param name="session">The session's state, held by its grain.</param>
    /// <param name="subpath">A subpath, or null for the main transcript.</param>
    /// <param name="batches">Each caller's entries and idempotency key.</param>
    /// <param name="mainExists">The caller knows the session's main transcript exists.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>
    /// Each batch's answer and the answer of all of them as one append; or null when a check refused them together (an
    /// entry too large, a quota, a subagent transcript of a session with no main transcript): nothing was written, and
    /// each is to be appended alone for its own answer.
    /// </returns>
    /// <exception cref="StorageUnavailableException">The backend failed: every batch failed (nothing acknowledged is lost).</exception>
    internal async Task<AppendedTogether?> AppendTogetherAsync(SessionState session, string? subpath, IReadOnlyList<(IReadOnlyList<TranscriptLine> Lines, string? IdempotencyKey)> batches, bool mainExists, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(batches);
        var key = session.Key(subpath);
        var lines = batches.SelectMany(b => b.Lines).ToList();
        IReadOnlyList<AppendResult> each;
        try
        {
            if (!key.IsMain && !mainExists && await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                return null;
            }

            await EnforceQuotasAsync(session.Tenant, key, lines, cancellationToken).ConfigureAwait(false);
            each = await session.Log(subpath).AppendBatchesAsync([.. batches.Select(b => b.Lines)], cancellationToken).ConfigureAwait(false);
        }
        catch (LimitExceededException)
        {
            return null;
        }

        var now = Now();
        for (var k = 0; k < batches.Count; k++)
        {
            if (batches[k].IdempotencyKey is { } idempotencyKey)
            {
                session.Answers.Remember(subpath, idempotencyKey, now, each[k]);
            }
        }

        var all = AppendedTogether.Combine(each);
        if (key.IsMain)
        {
            await FollowWithRowAsync(session, lines, all).ConfigureAwait(false);
            if (all.Appended > 0)
            {
                IndexLater(session.Tenant, key, lines, all.Length);
            }
        }

        return new AppendedTogether(each, all);
    }
}

/// <summary>What appends written together did (<see cref="SessionService.AppendTogetherAsync"/>).</summary>
/// <param name="Each">Each batch's answer, in order: as if it had been appended alone.</param>
/// <param name="Together">The batches as one append (<see cref="Combine"/>).</param>
public sealed record AppendedTogether(IReadOnlyList<AppendResult> Each, AppendResult Together)
{
    /// <summary>
    /// Batches' answers as the answer of one append: what was written in all, the log's length and mtime after the
    /// last, whether the first created the log and the log's mtime before it.
    /// </summary>
    /// <param name="each">The batches' answers, in order; at least one.</param>
    public static AppendResult Combine(IReadOnlyList<AppendResult> each)
    {
        ArgumentNullException.ThrowIfNull(each);
        return new AppendResult(each.Sum(r => r.Appended), each.Sum(r => r.Duplicates), each[^1].Length, each[^1].Mtime, each[0].Created, each.Sum(r => r.Bytes),
            PreviousMtime: each[0].PreviousMtime);
    }
}
