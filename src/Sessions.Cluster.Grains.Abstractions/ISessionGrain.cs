using Orleans.Concurrency;
using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Grains;

/// <summary>
/// One session of one tenant (key: <see cref="SessionGrainKey"/>, <c>tenant/projectKey/sessionId</c>): the single writer
/// of its transcript and subagent transcripts. Calls are ordered by the grain, so concurrent writers on several nodes
/// never conflict unless one of them sent a stale expected length. Bulk bytes do not travel through it: a read asks
/// for a <see cref="TranscriptView"/> and the caller streams the bytes from storage up to the view's length.
/// A session in its tenant's trash answers as a session that does not exist, except to <see cref="Restore"/>,
/// <see cref="Delete"/> (erasure purges it at once) and <see cref="Append"/> (a write brings it back first).
/// Errors arrive as <see cref="SessionFault"/> (see <see cref="SessionFault.ToException"/>).
/// </summary>
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Appends a batch (SessionStore <c>append</c>, mirrors the SDK's contract: in order, deduplicated by uuid). It
    /// interleaves, so the grain sees the appends queued behind one in flight: those for the same log go out together
    /// in one storage write (one Append Block), each answered as if alone; writes still run one at a time, in order.
    /// </summary>
    /// <param name="command">The subpath, entries, fence and idempotency key.</param>
    /// <returns>What was written, the committed length and the store's mtime (epoch ms).</returns>
    [AlwaysInterleave]
    Task<Core.Storage.AppendResult> Append(AppendCommand command);

    /// <summary>Compare-and-swap of the summary sidecar (SessionStore summaries); returns the new version.</summary>
    /// <param name="dataJson">The SDK's opaque <c>SessionSummaryEntry.data</c>, as JSON text.</param>
    /// <param name="mtime">The sidecar's mtime (epoch ms).</param>
    /// <param name="expectedVersion">The version the caller read; 0 creates.</param>
    Task<long> PutSummary(string dataJson, long mtime, long expectedVersion);

    /// <summary>Appends a <c>custom-title</c> entry (mirrors the SDK's renameSession).</summary>
    Task Rename(string title);

    /// <summary>Appends a <c>tag</c> entry; null clears the tag (mirrors the SDK's tagSession).</summary>
    Task Tag(string? tag);

    /// <summary>Deletes the session (cascading to subpaths, sidecar and catalog row) or one subpath; false when nothing existed.</summary>
    /// <param name="subpath">A subpath, or null for the whole session.</param>
    /// <param name="actor">Who asked, for the erasure audit log.</param>
    Task<bool> Delete(string? subpath, string actor);

    /// <summary>
    /// The session's catalog row (mirrors the SDK's getSessionInfo); <c>session_not_found</c> when the SDK would not list
    /// it. A read: it interleaves with a running append instead of queueing behind it.
    /// </summary>
    [AlwaysInterleave]
    Task<Core.Storage.SessionRecord> GetInfo();

    /// <summary>
    /// The committed length of a log at this instant (a seeded fork's transcript is written first): the caller reads
    /// storage up to it. For an ephemeral session, which never reaches storage, the view holds the bytes. A hot log's
    /// bytes (kept in the grain's memory) come with the view only to a caller on the grain's own silo, where they are
    /// not copied: bulk bytes never cross silos (DESIGN §3), a caller elsewhere streams them from storage.
    /// A read: it interleaves with a running append (it sees the length before or after it, never a partial line).
    /// </summary>
    /// <param name="subpath">A subpath, or null for the main transcript.</param>
    /// <param name="caller">The calling node's silo, or null when unknown (then no hot bytes).</param>
    [AlwaysInterleave]
    Task<TranscriptView> GetView(string? subpath, SiloAddress? caller);

    /// <summary>
    /// The SDK's <c>getSessionMessages</c> of the main transcript or a subpath, built by the grain from its view (its
    /// hot bytes where it keeps them) and kept for the next page while the log does not change: only the page
    /// crosses silos. <c>session_not_found</c> when the log does not exist (or the session is in the trash).
    /// A read: it interleaves with a running append.
    /// </summary>
    [AlwaysInterleave]
    Task<JsonAnswer> GetMessages(string? subpath, bool includeSystemMessages, int offset, int? limit);

    /// <summary>
    /// An answer of the host's transcript reader (the web console's page; see <see cref="Core.Sessions.ITranscriptReader"/>)
    /// from its model of the main transcript, which the grain builds once per version of the transcript and keeps (within
    /// the silo's budget) for the next page: only the answer crosses silos. <c>session_not_found</c> when there is no
    /// transcript. A read: it interleaves with a running append.
    /// </summary>
    /// <exception cref="InvalidOperationException">The host registered no <see cref="Core.Sessions.ITranscriptReader"/>.</exception>
    [AlwaysInterleave]
    Task<JsonAnswer> GetTranscriptPage(TranscriptPageRequest request);

    /// <summary>The SDK's <c>getSubagentMessages</c> of the subagent <paramref name="agentId"/>, built by the grain. A read.</summary>
    [AlwaysInterleave]
    Task<JsonAnswer> GetSubagentMessages(string agentId, int offset, int? limit);

    /// <summary>The entries from the last compaction boundary on (all when there is none), built by the grain. A read.</summary>
    [AlwaysInterleave]
    Task<JsonAnswer> GetContext(string? subpath);

    /// <summary>
    /// The session's subpaths (SessionStore <c>listSubkeys</c>): none for a session in the trash; an ephemeral
    /// session's from its grain's silo memory. A read: it interleaves with a running append.
    /// </summary>
    [AlwaysInterleave]
    Task<string[]> ListSubkeys();

    /// <summary>
    /// Forks the session (mirrors the SDK's forkSession): fixes a snapshot of this one's committed history (its length
    /// and the cut) and seeds a sibling grain, the fork, with it; answers the fork's new session id once the fork's grain
    /// has persisted its seed. The fork's transcript is written by its own grain right after, or on its first use.
    /// </summary>
    /// <param name="upToMessageId">Cut after this message (inclusive), or null for the whole history.</param>
    /// <param name="title">The fork's title before " (fork)", or null for the parent's.</param>
    Task<string> Fork(string? upToMessageId, string? title);

    /// <summary>
    /// Called on a new fork's grain by its parent: persists the seed (grain state) and answers, then writes the fork's
    /// transcript right after, or before the first call that comes sooner. With <see cref="ForkSeedCommand.WriteNow"/>
    /// (or an ephemeral parent) it writes inside the call instead and persists nothing, so the SDK's errors reach the caller.
    /// </summary>
    Task SeedFork(ForkSeedCommand command);

    /// <summary>
    /// Makes sure a seeded fork's transcript is written (every call does that first; this one does nothing else). A
    /// parent calls it on its unfinished forks before it is deleted or purged; a start calls it on every fork the catalog
    /// notes unfinished (<see cref="Core.Storage.UnfinishedFork"/>).
    /// </summary>
    Task FinishFork();

    /// <summary>
    /// A fork of this session tells it its transcript is written (its seed cleared), so the parent need not finish it
    /// before going: the parent drops its note of the fork, then the catalog's.
    /// </summary>
    [OneWay]
    Task ForkWritten(string forkId);

    /// <summary>Marks the session ephemeral before its first write: it then lives only in this grain's silo memory.</summary>
    Task MarkEphemeral();

    /// <summary>
    /// Retention asks the session to expire (mirrors Claude Code's <c>cleanupPeriodDays</c>, with a trash): it goes to
    /// the tenant's trash only if its last activity is still before <paramref name="cutoff"/> (epoch ms) and it is not
    /// held. Ordered with appends by the grain, so an append racing the sweep wins. The sweep hands the grain the row it
    /// listed: the grain decides on it without reading the catalog again, and the move is conditional on the row being
    /// unchanged and unheld (a write or a hold since the listing wins).
    /// </summary>
    /// <param name="cutoff">Last activity before this expires, epoch ms.</param>
    /// <param name="listed">The session's catalog row as the sweep listed it.</param>
    Task<ExpireOutcome> Expire(long cutoff, Core.Storage.SessionRecord listed);

    /// <summary>Purges the trashed session if it went to the trash before <paramref name="trashedBefore"/> (epoch ms).</summary>
    Task<PurgeOutcome> Purge(long trashedBefore);

    /// <summary>Brings the session back from the trash, byte for byte; <c>not_in_trash</c> when it is not there.</summary>
    /// <param name="actor">Who asked, for the audit.</param>
    Task Restore(string actor);

    /// <summary>
    /// The session's tenant was erased (its transcripts, rows and grain states are gone): the activation drops what it
    /// holds of the session (open logs, windows, idempotency answers, hot bytes, kept messages, an ephemeral session's
    /// entries) and deactivates, so nothing erased is answered from memory. Ordered after a running call.
    /// </summary>
    Task Forget();

    /// <summary>
    /// Rebuilds the session's catalog row from its transcript and removes the note that <paramref name="deadWriter"/>
    /// held it back: that silo died, so the row may miss appends it acknowledged (see <c>RowWriterRecovery</c>).
    /// Ordered with appends like any write.
    /// </summary>
    /// <param name="deadWriter">The dead silo's writer name (<c>ICatalogWriteBarrier.LocalWriter</c>).</param>
    Task RebuildRow(string deadWriter);
}
