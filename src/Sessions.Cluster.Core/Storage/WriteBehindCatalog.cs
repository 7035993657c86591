using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A catalog decorator that takes the catalog write off the append path: the row refresh after each append
/// (<see cref="ISessionCatalog.RefreshAsync"/>) is held back and coalesced per session, so a session appended to many
/// times while a write is under way is computed and written once, in one transaction with the other sessions' rows.
/// Summary sidecar writes (<see cref="ISessionCatalog.PutSummaryAsync"/>) are decided here, their compare-and-swap
/// against the newest version held back or stored, and written behind the same way. With a <c>delay</c> the writes wait
/// that long (embedded mode); with none they go out at once, all that queued while one was under way together (group
/// commit, the cluster). Every other operation first writes what is held back; reads of more than one session first
/// pass the <see cref="ICatalogWriteBarrier"/> when there is one (every silo writes what it holds), else write this
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
    private readonly ConcurrentDictionary<(string Tenant, string ProjectKey, string SessionId), Func<SessionRecord>> _pending = new();
    private readonly ConcurrentDictionary<(string Tenant, string ProjectKey, string SessionId), SummaryRecord> _summaries = new();
    private readonly Lock _summaryGate = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);
    private int _scheduled;
    private int _flushing;

    /// <summary>The catalog written to.</summary>
    public ISessionCatalog Inner => inner;

    /// <summary>How many sessions have a refresh held back right now.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>
    /// Whether rows held back here are noted durably with their writer (a shared catalog with <see cref="IRowWriterMarks"/>
    /// and a <see cref="ICatalogWriteBarrier"/>): then a session's first row of an activation goes through
    /// <see cref="WriteThroughMarkedAsync"/> and its last through <see cref="ReleaseAsync"/>.
    /// </summary>
    public bool MarksRows => barrier is not null && inner is IRowWriterMarks;

    /// <summary>Holds the refresh back (replacing an older one of the same session) and schedules a flush.</summary>
    public SessionRecord AsStored(SessionRecord row) => inner.AsStored(row);

    /// <inheritdoc />
    public Task RefreshAsync(string tenant, string projectKey, string sessionId, Func<SessionRecord> row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        _pending[(tenant, projectKey, sessionId)] = row;
        ScheduleFlush();
        return Task.CompletedTask;
    }

    private void ScheduleFlush()
    {
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
        _pending.TryRemove((row.Tenant, row.ProjectKey, row.SessionId), out _);
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

    /// <summary>Writes every held-back refresh, and waits for a flush already under way.</summary>
    /// <exception cref="Exception">The inner catalog's error; the refreshes it could not write stay held back.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_pending.IsEmpty && _summaries.IsEmpty && Volatile.Read(ref _flushing) == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _flushing, 1);
        try
        {
            await FlushSummariesAsync().ConfigureAwait(false);
            if (_pending.IsEmpty)
            {
                return;
            }

            var taken = new List<KeyValuePair<(string, string, string), Func<SessionRecord>>>(_pending.Count);
            foreach (var key in _pending.Keys)
            {
                if (_pending.TryRemove(key, out var row))
                {
                    taken.Add(new(key, row));
                }
            }

            try
            {
                await WriteRowsAsync(taken.Select(t => t.Value)).ConfigureAwait(false);
            }
            catch
            {
                // Keep what could not be written, unless a newer refresh of the same session came in meanwhile.
                foreach (var (key, row) in taken)
                {
                    _pending.TryAdd(key, row);
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

    // Writes the sidecars held back; each leaves memory once written, unless a newer version came in meanwhile (so a
    // sidecar is always either held here or stored, and the compare-and-swap reads the store only when it is stored).
    private async Task FlushSummariesAsync()
    {
        if (_summaries.IsEmpty)
        {
            return;
        }

        var taken = _summaries.ToArray();
        await inner.WriteSummariesAsync(taken.Select(t => new TenantSummary(t.Key.Tenant, t.Key.ProjectKey, t.Value)).ToList(), CancellationToken.None).ConfigureAwait(false);
        foreach (var written in taken)
        {
            _summaries.TryRemove(written);
        }
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
    /// <remarks>Decided in memory against the newest version (held back, else stored) and written behind.</remarks>
    public Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, CancellationToken cancellationToken) =>
        PutSummaryAsync(tenant, projectKey, sessionId, dataJson, mtime, expectedVersion, notBefore, null, cancellationToken);

    /// <summary>
    /// <see cref="PutSummaryAsync(string, string, string, string, long, long, long, CancellationToken)"/> by the sidecar's
    /// single writer, which knows the stored sidecar (<paramref name="known"/>, e.g. its last write): decided against it
    /// when nothing newer is held back here, without reading the catalog.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="projectKey">The project key.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="dataJson">The sidecar's data, verbatim.</param>
    /// <param name="mtime">The sidecar's mtime (epoch ms).</param>
    /// <param name="expectedVersion">The version replaced (0: none may exist).</param>
    /// <param name="notBefore">The oldest mtime a replaced sidecar may have (epoch ms).</param>
    /// <param name="known">The sidecar as the caller knows it is stored, or null to read it.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ConflictException">The compare-and-swap fails (code <c>summary_version_conflict</c>).</exception>
    public async Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, SummaryRecord? known, CancellationToken cancellationToken)
    {
        var key = (tenant, projectKey, sessionId);
        while (true)
        {
            var fromStore = !_summaries.ContainsKey(key);
            var stored = !fromStore ? null : known ?? await inner.GetSummaryAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
            lock (_summaryGate)
            {
                SummaryRecord? current;
                if (_summaries.TryGetValue(key, out var held))
                {
                    current = held;
                }
                else if (fromStore)
                {
                    current = stored;
                }
                else
                {
                    // Written and dropped from memory meanwhile: the store has it now.
                    continue;
                }

                if (Decide(current) is { } conflict)
                {
                    throw conflict;
                }

                _summaries[key] = new SummaryRecord(sessionId, mtime, dataJson, expectedVersion + 1);
            }

            ScheduleFlush();
            return expectedVersion + 1;
        }

        ConflictException? Decide(SummaryRecord? current)
        {
            var version = current?.Version ?? 0;
            return version == expectedVersion && (current is null || current.Mtime >= notBefore) ? null
                : new ConflictException("summary_version_conflict", $"The summary of session '{sessionId}' changed since version {expectedVersion}; re-read it and retry.",
                    expectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
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
