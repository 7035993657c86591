namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Append-only JSONL logs, one per transcript and subpath, laid out as Claude Code lays them out:
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c> and
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;/&lt;subpath&gt;.jsonl</c>.
/// The store is the source of truth for entries; every implementation passes the same conformance suite.
/// </summary>
/// <remarks>
/// Writes go through one <see cref="ITranscriptLog"/> per log, opened with <see cref="Open"/> and held by the log's
/// single writer (the session's grain), which keeps its committed length and uuid set: the store itself keeps no state
/// per log. The key-addressed reads here need no state (a node streams bytes up to a length the grain fixed); the
/// one-shot writes of <see cref="TranscriptStores"/> open a log for one call.
/// </remarks>
public interface ITranscriptStore
{
    /// <summary>
    /// A handle on one log (it need not exist yet; nothing is read until it is used). The caller keeps it while it is
    /// the log's writer: the handle holds what it learnt (committed length, uuid set, segments), so its next append
    /// reads nothing, and learns again from storage when its fence finds another writer.
    /// </summary>
    /// <exception cref="InvalidKeyException">The tenant or key is not safe.</exception>
    ITranscriptLog Open(string tenant, SessionKey key);

    /// <summary>Length and mtime of a log, or null when it was never written (or was deleted).</summary>
    Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the committed bytes <c>[offset, offset+count)</c> of a log for reading (count null = to the committed end,
    /// fixed when the call is made, so later appends do not leak in). Null when the log does not exist.
    /// </summary>
    Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken);

    /// <summary>Subpaths of one session (e.g. <c>subagents/agent-abc</c>), never the main transcript.</summary>
    Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken);

    /// <summary>Every main transcript of a tenant (all project keys), streamed; used by <c>reindex</c>.</summary>
    IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Deletes every log of a tenant (right to erasure); returns how many logs were deleted.</summary>
    Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Every tenant that has at least one log.</summary>
    IAsyncEnumerable<string> ListTenantsAsync(CancellationToken cancellationToken);
}

/// <summary>Outcome of <see cref="ITranscriptLog.DeleteIfUnchangedAsync"/>.</summary>
public enum ConditionalDelete
{
    /// <summary>The session was deleted.</summary>
    Deleted,

    /// <summary>Nothing was stored (already deleted).</summary>
    Missing,

    /// <summary>The transcript changed since the expected length; nothing was deleted.</summary>
    Changed,
}
