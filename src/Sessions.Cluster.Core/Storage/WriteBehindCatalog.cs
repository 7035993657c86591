using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A catalog decorator that takes the catalog write off the append path: the row refresh after each append and the
/// summary sidecar's writes are held back by the session's writer (its grain, in a <see cref="HeldCatalogWrites"/> of its
/// state, where a newer one replaces an older one) and written with every other session's held in one transaction. With
/// a <c>delay</c> the writes wait that long (embedded mode); with none they go out at once, all that queued while one was
/// under way together (group commit, the cluster). This class keeps no table of sessions: only a queue of the holders
/// that hold something. Every other operation first writes what is held back; reads of more than one session first pass
/// the <see cref="ICatalogWriteBarrier"/> when there is one (every silo writes what it holds), else write this
/// process's: a listing right after an append shows it, on any node.
/// </summary>
/// <remarks>
/// The rows are derived data (the transcript is the truth, and <c>reindex</c> rebuilds them). Embedded, a crash can
/// lose at most the refreshes of the last <c>delay</c>, which the next append to that session or a reindex restores.
/// In the cluster the first row of each grain activation is written through with a note of its writer
/// (<see cref="IRowWriterMarks"/>), so the rows a dead silo held back are found and rebuilt from their transcripts. A
/// sidecar lost in a crash is left older than its transcript, which the SDK's listing takes for stale, and the next
/// append's fold is refused over it (<c>notBefore</c>) and made over the whole transcript. A session's sidecar is
/// decided only by the writer holding its grain, which writes what it holds before the grain leaves (see
/// <c>SessionGrain.OnDeactivateAsync</c>).
/// </remarks>
public sealed class WriteBehindCatalog(ISessionCatalog inner, TimeProvider timeProvider, TimeSpan delay, ICatalogWriteBarrier? barrier = null) : ISessionCatalog, IAsyncDisposable
{
    private readonly ConcurrentQueue<HeldCatalogWrites> _queue = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);
    private int _scheduled;
    private int _flushing;

    /// <summary>The catalog written to.</summary>
    public ISessionCatalog Inner => inner;

    /// <summary>How many holders are queued with something to write right now.</summary>
    public int PendingCount => _queue.Count;

    /// <summary>
    /// Whether rows held back here are noted durably with their writer (a shared catalog with <see cref="IRowWriterMarks"/>
    /// and a <see cref="ICatalogWriteBarrier"/>): then a session's first row of an activation goes through
    /// <see cref="WriteThroughMarkedAsync"/> and its last through <see cref="ReleaseAsync"/>.
    /// </summary>
    public bool MarksRows => barrier is not null && inner is IRowWriterMarks;

    /// <inheritdoc />
    public SessionRecord AsStored(SessionRecord row) => inner.AsStored(row);

    /// <summary>
    /// Holds a session's row refresh back in its writer's <paramref name="held"/> writes (replacing an older one held
    /// there) and schedules a write. The row is computed when written, once however many refreshes it replaced.
    /// </summary>
    /// <param name="held">The session's held writes (its grain's).</param>
    /// <param name="row">Computes the row.</param>
    public void Hold(HeldCatalogWrites held, Func<SessionRecord> row)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(row);
        Queue(held, held.Put(row, null));
    }

    /// <inheritdoc />
    /// <remarks>Held back on its own (callers other than the session's grain: reindex, repairs), not coalesced.</remarks>
    public Task RefreshAsync(string tenant, string projectKey, string sessionId, Func<SessionRecord> row, CancellationToken cancellationToken)
    {
        Hold(new HeldCatalogWrites(), row);
        return Task.CompletedTask;
    }

    private void Queue(HeldCatalogWrites held, bool enqueue)
    {
        if (enqueue)
        {
            _queue.Enqueue(held);
        }

        if (Interlocked.Exchange(ref _scheduled, 1) == 0)
        {
            // With no delay, off the caller's scheduler (a grain's turn) at once; with one, its timer starts now.
            _ = delay > TimeSpan.Zero ? FlushLaterAsync(delay) : Task.Run(() => FlushLaterAsync(delay));
        }
    }

    /// <summary>
    /// Writes a session's row through, with the note that this process may hold later refreshes of it back: the first
    /// row of a grain activation (<see cref="MarksRows"/>). Later refreshes of the same activation go behind.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="MarksRows"/> is false.</exception>
    /// <exception cref="SessionsException">The catalog is unavailable.</exception>
    public async Task WriteThroughMarkedAsync(SessionRecord row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        var (marks, writer) = Marks();
        await marks.UpsertMarkedAsync(row, writer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes what is held back (every session's: one transaction) and removes this process's note on the session:
    /// the end of its grain activation here. A failure leaves the note, and the session's row is rebuilt from its
    /// transcript if this process dies first.
    /// </summary>
    /// <exception cref="InvalidOperationException"><see cref="MarksRows"/> is false.</exception>
    public async Task ReleaseAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var (marks, writer) = Marks();
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await marks.ClearMarkAsync(tenant, projectKey, sessionId, writer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes another writer's note on a session whose row was rebuilt from its transcript.</summary>
    /// <exception cref="InvalidOperationException"><see cref="MarksRows"/> is false.</exception>
    public Task ClearMarkAsync(string tenant, string projectKey, string sessionId, string writer, CancellationToken cancellationToken) =>
        Marks().Marks.ClearMarkAsync(tenant, projectKey, sessionId, writer, cancellationToken);

    /// <summary>Notes of writers that may hold rows back, over every tenant (see <see cref="IRowWriterMarks.ListMarksAsync"/>).</summary>
    /// <exception cref="InvalidOperationException"><see cref="MarksRows"/> is false.</exception>
    public Task<IReadOnlyList<RowWriterMark>> ListMarksAsync(int limit, CancellationToken cancellationToken) =>
        Marks().Marks.ListMarksAsync(limit, cancellationToken);

    private (IRowWriterMarks Marks, string Writer) Marks() => barrier is not null && inner is IRowWriterMarks marks
        ? (marks, barrier.LocalWriter)
        : throw new InvalidOperationException("This catalog does not note the writers of rows held back (no barrier, or a catalog without IRowWriterMarks).");

    // Before a read of more than one session: every writer's held-back rows are written (the barrier), else this one's.
    private Task BeforeReadAsync(string? tenant, CancellationToken cancellationToken) =>
        barrier is null ? FlushAsync(cancellationToken) : barrier.WaitForWritesAsync(tenant, cancellationToken);

    /// <summary>Writes everything held back (every queued holder's), and waits for a write already under way.</summary>
    /// <exception cref="Exception">The inner catalog's error; what it could not write stays held back.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_queue.IsEmpty && Volatile.Read(ref _flushing) == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _flushing, 1);
        try
        {
            var taken = new List<(HeldCatalogWrites Held, Func<SessionRecord>? Row, TenantSummary? Summary)>(_queue.Count);
            while (_queue.TryDequeue(out var held))
            {
                var (row, summary) = held.Take();
                taken.Add((held, row, summary));
            }

            if (taken.Count == 0)
            {
                return;
            }

            var summariesWritten = false;
            try
            {
                var summaries = taken.Where(t => t.Summary is not null).Select(t => t.Summary!).ToList();
                if (summaries.Count > 0)
                {
                    await inner.WriteSummariesAsync(summaries, CancellationToken.None).ConfigureAwait(false);
                }

                foreach (var (held, _, summary) in taken)
                {
                    held.Written(summary);
                }

                summariesWritten = true;

                taken.RemoveAll(t => t.Row is null);
                await WriteRowsAsync(taken.Select(t => t.Row!)).ConfigureAwait(false);
            }
            catch
            {
                // Keep what could not be written, unless something newer came in meanwhile.
                foreach (var (held, row, summary) in taken)
                {
                    if (held.Restore(row, summariesWritten ? null : summary))
                    {
                        _queue.Enqueue(held);
                    }
                }

                throw;
            }
        }
        finally
        {
            Volatile.Write(ref _flushing, 0);
            _gate.Release();
        }
    }

    // One transaction for all; a row that cannot be computed (a transcript its reader chokes on) or that the catalog
    // refuses is dropped rather than holding back every other session's for ever: rows are derived data, and the
    // session's next append or a reindex writes it again. An outage is thrown (the caller keeps every row).
    private async Task WriteRowsAsync(IEnumerable<Func<SessionRecord>> refreshes)
    {
        var rows = new List<SessionRecord>();
        foreach (var refresh in refreshes)
        {
            try
            {
                rows.Add(refresh());
            }
            catch (Exception ex) when (!IsOutage(ex))
            {
                // Dropped (see above).
            }
        }

        try
        {
            await inner.UpsertManyAsync(rows, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (rows.Count > 1 && !IsOutage(ex))
        {
            foreach (var row in rows)
            {
                try
                {
                    await inner.UpsertAsync(row, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception one) when (!IsOutage(one))
                {
                    // Refused on its own: dropped (see above).
                }
            }
        }

        static bool IsOutage(Exception ex) => ex is SessionsException { IsTransient: true } or OperationCanceledException or OutOfMemoryException
            or IOException or System.Data.Common.DbException { IsTransient: true };
    }

    private async Task FlushLaterAsync(TimeSpan wait)
    {
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, timeProvider).ConfigureAwait(false);
        }

        Volatile.Write(ref _scheduled, 0);
        try
        {
            await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SessionsException or IOException or InvalidOperationException or System.Data.Common.DbException)
        {
            // Held back still; try again after another delay, at least a quarter second (a reader's flush would
            // surface the error).
            if (Interlocked.Exchange(ref _scheduled, 1) == 0)
            {
                _ = FlushLaterAsync(delay > RetryDelay ? delay : RetryDelay);
            }
        }
    }

    /// <summary>Writes what is held back.</summary>
    public async ValueTask DisposeAsync()
    {
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        if (inner is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

    /// <inheritdoc />
    public async Task UpsertAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.UpsertAsync(record, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task UpsertManyAsync(IReadOnlyList<SessionRecord> records, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.UpsertManyAsync(records, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionRecord?> GetAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.GetAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionPage> ListAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListAsync(tenant, projectKey, query, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<RenderedPage?> ListRenderedAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListRenderedAsync(tenant, projectKey, query, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> FindAsync(string tenant, string sessionId, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.FindAsync(tenant, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListForksAsync(string tenant, string projectKey, IReadOnlyCollection<string> parentSessionIds, int limit, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListForksAsync(tenant, projectKey, parentSessionIds, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ProjectSummary>> ListProjectsAsync(string tenant, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListProjectsAsync(tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> SearchAsync(string tenant, string text, int limit, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.SearchAsync(tenant, text, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<(string SessionId, long Mtime)> ListMtimesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        await foreach (var item in inner.ListMtimesAsync(tenant, projectKey, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await inner.DeleteAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        await inner.DeleteTenantAsync(tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The index only keeps messages of sessions the catalog has, so rows held back are written first; except where rows
    /// are noted (<see cref="MarksRows"/>): there a grain's first row went through, and the index write after every
    /// append must not take every row of the silo out from behind with it.
    /// </remarks>
    public async Task IndexMessagesAsync(string tenant, string projectKey, string sessionId, IReadOnlyList<Search.IndexedMessage> messages, long indexedLength, CancellationToken cancellationToken)
    {
        if (!MarksRows)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        await inner.IndexMessagesAsync(tenant, projectKey, sessionId, messages, indexedLength, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Rows held back are written first: their sizes are what the index is compared with.</remarks>
    public async Task<IReadOnlyList<SessionKey>> ListUnindexedAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListUnindexedAsync(tenant, limit, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Search.SearchHit>> SearchMessagesAsync(string tenant, Search.SearchQuery query, string? projectKey, int limit, int offset, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.SearchMessagesAsync(tenant, query, projectKey, limit, offset, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<AppendIntent?> AddAppendIntentAsync(AppendIntent intent, long notBefore, CancellationToken cancellationToken) =>
        inner.AddAppendIntentAsync(intent, notBefore, cancellationToken);

    /// <inheritdoc />
    public Task SetAppendIntentAsync(AppendIntent intent, CancellationToken cancellationToken) =>
        inner.SetAppendIntentAsync(intent, cancellationToken);

    /// <inheritdoc />
    public Task AddUnfinishedForkAsync(UnfinishedFork fork, CancellationToken cancellationToken) =>
        inner.AddUnfinishedForkAsync(fork, cancellationToken);

    /// <inheritdoc />
    public Task RemoveUnfinishedForkAsync(string tenant, string projectKey, string forkId, CancellationToken cancellationToken) =>
        inner.RemoveUnfinishedForkAsync(tenant, projectKey, forkId, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<UnfinishedFork>> ListUnfinishedForksAsync(string tenant, CancellationToken cancellationToken) =>
        inner.ListUnfinishedForksAsync(tenant, cancellationToken);

    /// <inheritdoc />
    public async Task<SummaryRecord?> GetSummaryAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.GetSummaryAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        await foreach (var item in inner.ListSummariesAsync(tenant, projectKey, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <inheritdoc />
    /// <remarks>Written through, after what is held back (callers other than the sidecar's single writer).</remarks>
    public async Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await inner.PutSummaryAsync(tenant, projectKey, sessionId, dataJson, mtime, expectedVersion, notBefore, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="PutSummaryAsync(string, string, string, string, long, long, long, CancellationToken)"/> by the sidecar's
    /// single writer (the session's grain): the compare-and-swap is decided against the newest sidecar it holds back,
    /// else the one it knows is stored (<paramref name="known"/>, e.g. its last write), else the catalog's; the new
    /// sidecar is then held back in <paramref name="held"/> and written behind.
    /// </summary>
    /// <param name="held">The session's held writes (its grain's).</param>
    /// <param name="tenant">The tenant.</param>
    /// <param name="projectKey">The project key.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="dataJson">The sidecar's data, verbatim.</param>
    /// <param name="mtime">The sidecar's mtime (epoch ms).</param>
    /// <param name="expectedVersion">The version replaced (0: none may exist).</param>
    /// <param name="notBefore">The oldest mtime a replaced sidecar may have (epoch ms).</param>
    /// <param name="known">The sidecar as the caller knows it is stored, or null to read it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <param name="noneStored">The caller knows no sidecar is stored (its append just created the transcript): no read
    /// when nothing is held back either.</param>
    /// <returns>The new version (<paramref name="expectedVersion"/> + 1).</returns>
    /// <exception cref="ConflictException">The compare-and-swap fails (code <c>summary_version_conflict</c>).</exception>
    public async Task<long> PutSummaryAsync(HeldCatalogWrites held, string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, SummaryRecord? known, CancellationToken cancellationToken, bool noneStored = false)
    {
        ArgumentNullException.ThrowIfNull(held);
        var current = held.NewestSummary ?? known ?? (noneStored ? null : await inner.GetSummaryAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false));
        var version = current?.Version ?? 0;
        if (version != expectedVersion || (current is not null && current.Mtime < notBefore))
        {
            throw new ConflictException("summary_version_conflict", $"The summary of session '{sessionId}' changed since version {expectedVersion}; re-read it and retry.",
                expectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Queue(held, held.Put(null, new TenantSummary(tenant, projectKey, new SummaryRecord(sessionId, mtime, dataJson, expectedVersion + 1))));
        return expectedVersion + 1;
    }

    /// <inheritdoc />
    public async Task WriteSummariesAsync(IReadOnlyList<TenantSummary> summaries, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.WriteSummariesAsync(summaries, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListTenantsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await BeforeReadAsync(null, cancellationToken).ConfigureAwait(false);
        await foreach (var item in inner.ListTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <inheritdoc />
    public Task<int?> GetCleanupPeriodDaysAsync(string tenant, CancellationToken cancellationToken) => inner.GetCleanupPeriodDaysAsync(tenant, cancellationToken);

    /// <inheritdoc />
    public Task SetCleanupPeriodDaysAsync(string tenant, int days, CancellationToken cancellationToken) => inner.SetCleanupPeriodDaysAsync(tenant, days, cancellationToken);

    /// <inheritdoc />
    public async Task SetHoldAsync(string tenant, string projectKey, string sessionId, string reason, long now, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        await inner.SetHoldAsync(tenant, projectKey, sessionId, reason, now, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveHoldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await inner.RemoveHoldAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, int limit, ExpiredCursor? after, CancellationToken cancellationToken)
    {
        await BeforeReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        return await inner.ListExpiredAsync(tenant, cutoff, holdTags, limit, after, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> IsHeldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        inner.IsHeldAsync(tenant, projectKey, sessionId, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> MoveToTrashAsync(TrashedSession entry, string node, CancellationToken cancellationToken)
    {
        // A held-back refresh landing after the move would bring the row back out of the trash.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await inner.MoveToTrashAsync(entry, node, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<TrashedSession?> GetTrashedAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        inner.GetTrashedAsync(tenant, projectKey, sessionId, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<TrashedSession>> ListTrashAsync(string tenant, long trashedBefore, int limit, CancellationToken cancellationToken) =>
        inner.ListTrashAsync(tenant, trashedBefore, limit, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RestoreFromTrashAsync(SessionRecord row, long now, string actor, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await inner.RestoreFromTrashAsync(row, now, actor, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<bool> PurgeTrashedAsync(string tenant, string projectKey, string sessionId, long now, string node, CancellationToken cancellationToken) =>
        inner.PurgeTrashedAsync(tenant, projectKey, sessionId, now, node, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken) => inner.ListAuditAsync(tenant, limit, cancellationToken);
}
