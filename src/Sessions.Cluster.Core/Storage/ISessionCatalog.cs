namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The index of sessions derived from the transcript store: one row per main transcript with the fields the SDK's
/// <c>listSessions</c>/<c>getSessionInfo</c> compute, plus the SDK's opaque summary sidecars. It can be rebuilt from
/// the transcripts at any time (<c>reindex</c>); every implementation passes the same conformance suite.
/// </summary>
public interface ISessionCatalog
{
    /// <summary>Creates or migrates the schema. Safe to call on every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the row of one session.</summary>
    Task UpsertAsync(SessionRecord record, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the rows of several sessions (one transaction where the catalog has them).</summary>
    async Task UpsertManyAsync(IReadOnlyList<SessionRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        foreach (var record in records)
        {
            await UpsertAsync(record, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <paramref name="row"/> as this catalog stores it and would read it back (the default: unchanged). A session's
    /// grain answers info from the row it wrote, so that answer must equal a later read of the catalog.
    /// </summary>
    SessionRecord AsStored(SessionRecord row) => row;

    /// <summary>
    /// The row refresh that follows an append: <paramref name="row"/> computes the row. A write-through catalog computes
    /// and writes it now (the default); <see cref="WriteBehindCatalog"/> holds it back and coalesces it with later
    /// refreshes of the same session, so only the newest is ever computed.
    /// </summary>
    Task RefreshAsync(string tenant, string projectKey, string sessionId, Func<SessionRecord> row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        return UpsertAsync(row(), cancellationToken);
    }

    /// <summary>
    /// Records <paramref name="intent"/> durably unless its key already has a record made at or after
    /// <paramref name="notBefore"/> (Unix epoch ms) for the same log; then that record is returned and nothing is
    /// written (a record older than that is replaced). Drops the session's records made before
    /// <paramref name="notBefore"/>. Written through, never held back: it must stand before the append's bytes are written.
    /// </summary>
    /// <returns>Null when <paramref name="intent"/> was recorded; otherwise the record standing for its key.</returns>
    Task<AppendIntent?> AddAppendIntentAsync(AppendIntent intent, long notBefore, CancellationToken cancellationToken);

    /// <summary>Records <paramref name="intent"/> durably, replacing any record of its key for the same log.</summary>
    Task SetAppendIntentAsync(AppendIntent intent, CancellationToken cancellationToken);

    /// <summary>
    /// Notes durably (written through) a fork whose grain state is about to be written (<see cref="UnfinishedFork"/>);
    /// a second note of the same fork replaces the first. Kept until <see cref="RemoveUnfinishedForkAsync"/> or the
    /// tenant's deletion: a session's own delete leaves it (its parent clears it).
    /// </summary>
    Task AddUnfinishedForkAsync(UnfinishedFork fork, CancellationToken cancellationToken);

    /// <summary>Removes the note of the fork <paramref name="forkId"/>; nothing when there is none.</summary>
    Task RemoveUnfinishedForkAsync(string tenant, string projectKey, string forkId, CancellationToken cancellationToken);

    /// <summary>The tenant's notes of unfinished forks, oldest first.</summary>
    Task<IReadOnlyList<UnfinishedFork>> ListUnfinishedForksAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Adds (or replaces, by uuid) the searchable text of messages of a session's main transcript
    /// (<see cref="Search.MessageText"/>); nothing for a session without a row. Removed with the session (delete, purge,
    /// tenant erasure); hidden while it is in the trash or unlisted.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="projectKey">The session's project key.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="messages">The messages' text (may be empty: the batch held none).</param>
    /// <param name="indexedLength">The main transcript's length (bytes) these messages bring the index up to; the row
    /// keeps the largest one given, so a row whose size is past it has messages the index lacks (<see cref="ListUnindexedAsync"/>).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task IndexMessagesAsync(string tenant, string projectKey, string sessionId, IReadOnlyList<Search.IndexedMessage> messages, long indexedLength, CancellationToken cancellationToken);

    /// <summary>
    /// Sessions of <paramref name="tenant"/> whose transcript has grown past what the content index holds (an index
    /// write queued behind an append was lost with its process), at most <paramref name="limit"/>, as main keys.
    /// </summary>
    Task<IReadOnlyList<SessionKey>> ListUnindexedAsync(string tenant, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Content search: the tenant's listed sessions (of one project when <paramref name="projectKey"/> is given) whose
    /// messages match <paramref name="query"/>, most relevant first, each with its best matching messages; a page of
    /// <paramref name="limit"/> after skipping <paramref name="offset"/>.
    /// </summary>
    Task<IReadOnlyList<Search.SearchHit>> SearchMessagesAsync(string tenant, Search.SearchQuery query, string? projectKey, int limit, int offset, CancellationToken cancellationToken);

    /// <summary>Writes every row refresh this process still holds back; a no-op for a write-through catalog.</summary>
    Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The row of one session, or null.</summary>
    Task<SessionRecord?> GetAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// The page <see cref="ListAsync"/> would give, each row as the JSON object the listing answers with, rendered when
    /// the row was written (so a listing copies bytes instead of building and serializing records); null when this
    /// catalog does not keep rendered rows.
    /// </summary>
    Task<RenderedPage?> ListRenderedAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<RenderedPage?>(null);

    /// <summary>
    /// One page of a project's sessions, newest first by (mtime, sessionId), optionally filtered. The cursor is opaque
    /// to callers and produced by this method.
    /// </summary>
    /// <exception cref="InvalidRequestException">The cursor is not one this catalog produced (code <c>invalid_cursor</c>).</exception>
    Task<SessionPage> ListAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken);

    /// <summary>Rows with this session id in any project key of the tenant (usually one).</summary>
    Task<IReadOnlyList<SessionRecord>> FindAsync(string tenant, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// The forks of some sessions of a project: rows (listed or not) whose <see cref="SessionRecord.ParentSessionId"/> is
    /// one of <paramref name="parentSessionIds"/>, newest first, at most <paramref name="limit"/>; found through an index
    /// of the parent links, not a scan of the project.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="projectKey">The project key.</param>
    /// <param name="parentSessionIds">The parents (at most 1,000).</param>
    /// <param name="limit">Most rows answered.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    Task<IReadOnlyList<SessionRecord>> ListForksAsync(string tenant, string projectKey, IReadOnlyCollection<string> parentSessionIds, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// The tenant's projects: each project key with its listed sessions, the last activity (epoch ms) and the cwd of its
    /// most recent session, most recently active first.
    /// </summary>
    Task<IReadOnlyList<ProjectSummary>> ListProjectsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// Listed sessions of every project of the tenant whose title, summary, first prompt or tag contains
    /// <paramref name="text"/> (case-insensitive), or whose id starts with it; newest first, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<SessionRecord>> SearchAsync(string tenant, string text, int limit, CancellationToken cancellationToken);

    /// <summary>(sessionId, mtime) of every main transcript of a project, streamed; the SessionStore <c>listSessions</c>.</summary>
    IAsyncEnumerable<(string SessionId, long Mtime)> ListMtimesAsync(string tenant, string projectKey, CancellationToken cancellationToken);

    /// <summary>Removes a session's row, its summary sidecar, its hold, its trash entry and its append intents. False when it had neither row nor trash entry.</summary>
    Task<bool> DeleteAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Removes every row, sidecar and append intent of a tenant (used by <c>reindex</c> and erasure).</summary>
    Task DeleteTenantAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>The summary sidecar of one session, or null.</summary>
    Task<SummaryRecord?> GetSummaryAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Every summary sidecar of a project, streamed.</summary>
    IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a summary sidecar verbatim if its current version equals <paramref name="expectedVersion"/>
    /// (0 = must not exist yet) and, replacing one, if the stored sidecar's mtime is at least <paramref name="notBefore"/>
    /// (epoch ms; an older sidecar missed a write to the transcript, so a fold over it would too). Returns the new version.
    /// </summary>
    /// <exception cref="ConflictException">Another writer changed the sidecar first, or it is older than
    /// <paramref name="notBefore"/> (code <c>summary_version_conflict</c>).</exception>
    Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Writes summary sidecars as given, versions included, replacing what is stored: the flush of sidecars whose
    /// compare-and-swap a write-behind catalog already decided in memory (<see cref="WriteBehindCatalog"/>).
    /// </summary>
    Task WriteSummariesAsync(IReadOnlyList<TenantSummary> summaries, CancellationToken cancellationToken);

    /// <summary>Every tenant with at least one session row.</summary>
    IAsyncEnumerable<string> ListTenantsAsync(CancellationToken cancellationToken);

    /// <summary>The tenant's <c>cleanupPeriodDays</c>, or null when it has none of its own.</summary>
    Task<int?> GetCleanupPeriodDaysAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Sets the tenant's <c>cleanupPeriodDays</c> (validated by the caller, ≥ 1).</summary>
    Task SetCleanupPeriodDaysAsync(string tenant, int days, CancellationToken cancellationToken);

    /// <summary>Places a hold on a session (exempt from retention) or replaces its reason.</summary>
    Task SetHoldAsync(string tenant, string projectKey, string sessionId, string reason, long now, CancellationToken cancellationToken);

    /// <summary>Removes a hold; false when there was none.</summary>
    Task<bool> RemoveHoldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// One page of the sessions of a tenant last written before <paramref name="cutoff"/> (epoch ms) and not restored
    /// from the trash since then, oldest first by (mtime, projectKey, sessionId), without a hold and without one of
    /// <paramref name="holdTags"/>: the candidates of a retention sweep, and its dry run.
    /// </summary>
    /// <param name="tenant">Tenant.</param>
    /// <param name="cutoff">Last write before this, epoch ms.</param>
    /// <param name="holdTags">Tags that exempt a session.</param>
    /// <param name="limit">Most rows.</param>
    /// <param name="after">The last row of the previous page, or null for the first.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<IReadOnlyList<SessionRecord>> ListExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, int limit, ExpiredCursor? after, CancellationToken cancellationToken);

    /// <summary>Whether the session has a hold record.</summary>
    Task<bool> IsHeldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Moves a session to its tenant's trash in one transaction: its row leaves the sessions (so no listing shows it),
    /// its summary sidecar is kept with the trash entry, and one <see cref="AuditReasons.Retention"/> record is written.
    /// The move is conditional: only a row still at <see cref="TrashedSession.LastWrite"/> (its mtime) and
    /// <see cref="TrashedSession.Size"/>, with no hold record, moves; so a sweep can decide on the row it listed, and a
    /// write or a hold that came since wins.
    /// </summary>
    /// <returns>
    /// False when nothing moved: the session has no row (already in the trash, or gone), its row changed since it was
    /// read, or it is held. Nothing is changed or audited then.
    /// </returns>
    Task<bool> MoveToTrashAsync(TrashedSession entry, string node, CancellationToken cancellationToken);

    /// <summary>The session's trash entry, or null when it is not in the trash.</summary>
    Task<TrashedSession?> GetTrashedAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>The tenant's trash entries trashed before <paramref name="trashedBefore"/> (epoch ms), oldest first.</summary>
    Task<IReadOnlyList<TrashedSession>> ListTrashAsync(string tenant, long trashedBefore, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Brings a session back from the trash in one transaction: the trash entry goes, <paramref name="row"/> (computed
    /// from its transcript) becomes its row again with <paramref name="now"/> as its restore time (so the next sweep
    /// does not take it at once), its summary sidecar returns verbatim, and one <see cref="AuditReasons.Restore"/>
    /// record is written.
    /// </summary>
    /// <returns>False when the session is not in the trash.</returns>
    Task<bool> RestoreFromTrashAsync(SessionRecord row, long now, string actor, CancellationToken cancellationToken);

    /// <summary>
    /// Forgets a trash entry (with the sidecar kept in it) after its transcripts were deleted, writing one
    /// <see cref="AuditReasons.Purge"/> record.
    /// </summary>
    /// <returns>False when the session was not in the trash.</returns>
    Task<bool> PurgeTrashedAsync(string tenant, string projectKey, string sessionId, long now, string node, CancellationToken cancellationToken);

    /// <summary>The tenant's retention and erasure audit records, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken);
}
