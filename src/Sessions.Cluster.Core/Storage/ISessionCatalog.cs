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
    /// The row refresh that follows an append: <paramref name="row"/> computes the row. A write-through catalog computes
    /// and writes it now (the default); <see cref="WriteBehindCatalog"/> holds it back and coalesces it with later
    /// refreshes of the same session, so only the newest is ever computed.
    /// </summary>
    Task RefreshAsync(string tenant, string projectKey, string sessionId, Func<SessionRecord> row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        return UpsertAsync(row(), cancellationToken);
    }

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

    /// <summary>Removes a session's row and its summary sidecar. False when there was none.</summary>
    Task<bool> DeleteAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Removes every row and sidecar of a tenant (used by <c>reindex</c>).</summary>
    Task DeleteTenantAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>The summary sidecar of one session, or null.</summary>
    Task<SummaryRecord?> GetSummaryAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Every summary sidecar of a project, streamed.</summary>
    IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a summary sidecar verbatim if its current version equals <paramref name="expectedVersion"/>
    /// (0 = must not exist yet). Returns the new version.
    /// </summary>
    /// <exception cref="ConflictException">Another writer changed the sidecar first (code <c>summary_version_conflict</c>).</exception>
    Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, CancellationToken cancellationToken);

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
    /// Sessions of a tenant last written before <paramref name="cutoff"/> (epoch ms), oldest first, without a hold and
    /// without one of <paramref name="holdTags"/>; a dry run of retention.
    /// </summary>
    Task<IReadOnlyList<SessionRecord>> ListExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically claims up to <paramref name="limit"/> expired sessions for <paramref name="node"/>: rows that are
    /// unclaimed, or whose claim is older than <paramref name="leaseMs"/>. No two nodes get the same row.
    /// </summary>
    Task<IReadOnlyList<RetentionClaim>> ClaimExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, string node, long now, long leaseMs, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Finishes a deletion: removes the row and its sidecar if it is still claimed by <paramref name="node"/> and
    /// unchanged since the claim, and writes one audit record. False when the row changed (it was written again).
    /// </summary>
    Task<bool> CompleteDeletionAsync(RetentionClaim claim, string node, long now, CancellationToken cancellationToken);

    /// <summary>Gives a claim back (the transcript changed after the claim).</summary>
    Task ReleaseClaimAsync(RetentionClaim claim, string node, CancellationToken cancellationToken);

    /// <summary>Records a fork whose transcript is written later (copy-on-write). Retention never claims its parent meanwhile.</summary>
    Task AddPendingForkAsync(PendingFork fork, CancellationToken cancellationToken);

    /// <summary>The pending fork with that session id, or null (none, or its transcript is written).</summary>
    Task<PendingFork?> GetPendingForkAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>A tenant's pending forks (of one project when <paramref name="projectKey"/> is given), oldest first.</summary>
    Task<IReadOnlyList<PendingFork>> ListPendingForksAsync(string tenant, string? projectKey, CancellationToken cancellationToken);

    /// <summary>Forgets a pending fork once its transcript is written.</summary>
    Task RemovePendingForkAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>The tenant's deletion audit records, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken);
}
