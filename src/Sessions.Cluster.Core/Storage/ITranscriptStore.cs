namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Append-only JSONL logs, one per transcript and subpath, laid out as Claude Code lays them out:
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c> and
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;/&lt;subpath&gt;.jsonl</c>.
/// The store is the source of truth for entries; every implementation passes the same conformance suite.
/// </summary>
public interface ITranscriptStore
{
    /// <summary>
    /// Appends <paramref name="lines"/> in order, deduplicated as <see cref="AppendPlan"/> says: an entry whose
    /// <c>uuid</c> is already in the log or earlier in the batch is skipped, entries without a uuid are appended,
    /// and a replayed batch (all its uuids already stored) writes nothing. The write is fenced: when
    /// <paramref name="expectedLength"/> is given it must equal the committed length, and in every case two writers
    /// can never interleave or duplicate lines. Readers never see a partial line. An empty batch is a no-op.
    /// </summary>
    /// <exception cref="ConflictException"><paramref name="expectedLength"/> is not the committed length (code <c>append_position_conflict</c>).</exception>
    /// <exception cref="StorageUnavailableException">The backend failed; nothing acknowledged is lost.</exception>
    Task<AppendResult> AppendAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a log's last write time to an earlier instant (an import keeps the imported file's mtime, as Claude Code
    /// and the SDK's local listing read it). Files take it as their mtime; where the backend cannot set it (Azure
    /// Blob's Last-Modified), the store answers it from memory and the catalog row keeps it.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="key">The log.</param>
    /// <param name="mtime">Unix epoch milliseconds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task SetMtimeAsync(string tenant, SessionKey key, long mtime, CancellationToken cancellationToken);

    /// <summary>Length and mtime of a log, or null when it was never written (or was deleted).</summary>
    Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the committed bytes <c>[offset, offset+count)</c> of a log for reading (count null = to the committed end,
    /// fixed when the call is made, so later appends do not leak in). Null when the log does not exist.
    /// </summary>
    Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken);

    /// <summary>Deletes a log. A main key also deletes every subpath of the session; a subpath key deletes only itself. False when nothing existed.</summary>
    Task<bool> DeleteAsync(string tenant, SessionKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes a session's main transcript and its subpaths only if the main transcript's committed length is still
    /// <paramref name="expectedLength"/>, atomically with respect to appends (retention must never delete a session
    /// written after it was claimed).
    /// </summary>
    Task<ConditionalDelete> DeleteIfUnchangedAsync(string tenant, SessionKey key, long expectedLength, CancellationToken cancellationToken);

    /// <summary>Subpaths of one session (e.g. <c>subagents/agent-abc</c>), never the main transcript.</summary>
    Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Every main transcript of a tenant (all project keys), streamed; used by <c>reindex</c>.</summary>
    IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Deletes every log of a tenant (right to erasure); returns how many logs were deleted.</summary>
    Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Every tenant that has at least one log.</summary>
    IAsyncEnumerable<string> ListTenantsAsync(CancellationToken cancellationToken);
}

/// <summary>Outcome of <see cref="ITranscriptStore.DeleteIfUnchangedAsync"/>.</summary>
public enum ConditionalDelete
{
    /// <summary>The session was deleted.</summary>
    Deleted,

    /// <summary>Nothing was stored (already deleted).</summary>
    Missing,

    /// <summary>The transcript changed since the expected length; nothing was deleted.</summary>
    Changed,
}
