namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// One append-only JSONL log (a transcript or a subpath of one), opened by <see cref="ITranscriptStore.Open"/> and
/// held by its writer, the session's grain: the handle keeps the committed length, the uuid set and (blobs) the
/// segments it has seen, so an append reads nothing first. Shaped after Orleans Journaling's per-grain storage object
/// (<c>IJournalStorageProvider.CreateStorage</c>), which likewise keeps its own ETag and position.
/// </summary>
/// <remarks>
/// Writes (<see cref="AppendAsync"/>, <see cref="SetMtimeAsync"/>, the deletes) are made one at a time by the holder
/// (the grain's turn orders them; the handle takes no lock). Reads (<see cref="StatAsync"/>,
/// <see cref="OpenReadAsync"/>) may run beside a write and see the length before or after it. Another writer of the
/// same log (a second handle, a duplicate activation during a membership change, an erasure) is found by the fence:
/// the handle then learns the log again from storage before it writes; it never writes over or between another
/// writer's lines.
/// </remarks>
public interface ITranscriptLog
{
    /// <summary>The log's key.</summary>
    SessionKey Key { get; }

    /// <summary>
    /// Appends <paramref name="lines"/> in order, deduplicated as <see cref="AppendPlan"/> says: an entry whose
    /// <c>uuid</c> is already in the log or earlier in the batch is skipped, entries without a uuid are appended,
    /// and a replayed batch (all its uuids already stored) writes nothing. The write is fenced: when
    /// <paramref name="expectedLength"/> is given it must equal the committed length, and in every case two writers
    /// can never interleave or duplicate lines. Readers never see a partial line. An empty batch is a no-op.
    /// </summary>
    /// <exception cref="ConflictException"><paramref name="expectedLength"/> is not the committed length (code <c>append_position_conflict</c>).</exception>
    /// <exception cref="LimitExceededException">An entry is larger than the backend holds (code <c>entry_too_large</c>).</exception>
    /// <exception cref="StorageUnavailableException">The backend failed; nothing acknowledged is lost.</exception>
    Task<AppendResult> AppendAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <see cref="AppendBatchesAsync"/> writes several batches in one storage write (the blob log: one Append
    /// Block). False by default: the holder then appends each batch alone, since nothing would be saved.
    /// </summary>
    bool WritesBatchesTogether => false;

    /// <summary>
    /// Appends the batches of several callers, queued one behind the other, in one storage write: the log ends as if
    /// each had been appended alone, in order (<see cref="AppendAsync"/> without a fence), and each batch gets the answer
    /// it would have got then (its own entries written or skipped, the length after its last entry, the same mtime).
    /// Every entry carries a <c>uuid</c>, so planning the batches together is planning them one after the other
    /// (<see cref="AppendPlan"/>: uuid-less entries align with the log batch by batch). All or nothing: a failure fails
    /// every batch, and a refusal (<c>entry_too_large</c>) is made before anything is written.
    /// </summary>
    /// <param name="batches">The batches, in the order they were queued; each non-empty.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>One answer per batch, in order.</returns>
    /// <exception cref="ArgumentException">An entry has no uuid, or a batch is empty.</exception>
    /// <exception cref="NotSupportedException">The log does not write batches together (<see cref="WritesBatchesTogether"/> is false).</exception>
    /// <exception cref="LimitExceededException">An entry is larger than the backend holds (code <c>entry_too_large</c>); nothing was written.</exception>
    /// <exception cref="StorageUnavailableException">The backend failed; nothing acknowledged is lost.</exception>
    Task<IReadOnlyList<AppendResult>> AppendBatchesAsync(IReadOnlyList<IReadOnlyList<TranscriptLine>> batches, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"The log {Key} does not write batches together: append each alone.");

    /// <summary>
    /// Sets the log's last write time to an earlier instant (an import keeps the imported file's mtime, as Claude Code
    /// and the SDK's local listing read it). Files take it as their mtime; where the backend cannot set it (Azure
    /// Blob's Last-Modified), the handle answers it from memory and the catalog row keeps it. Nothing when the log does
    /// not exist.
    /// </summary>
    /// <param name="mtime">Unix epoch milliseconds.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task SetMtimeAsync(long mtime, CancellationToken cancellationToken);

    /// <summary>Length and mtime of the log, or null when it was never written (or was deleted).</summary>
    Task<TranscriptStat?> StatAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Opens the committed bytes <c>[offset, offset+count)</c> for reading (count null = to the committed end, fixed
    /// when the call is made, so later appends do not leak in). Null when the log does not exist.
    /// </summary>
    Task<Stream?> OpenReadAsync(long offset, long? count, CancellationToken cancellationToken);

    /// <summary>Deletes the log; a main transcript's log also deletes every subpath of its session. False when nothing existed.</summary>
    Task<bool> DeleteAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the session (this main transcript and its subpaths) only if the committed length is still
    /// <paramref name="expectedLength"/>, atomically with respect to appends from any writer (retention must never
    /// delete a session written after it was claimed).
    /// </summary>
    /// <exception cref="InvalidOperationException">The handle is a subpath's.</exception>
    Task<ConditionalDelete> DeleteIfUnchangedAsync(long expectedLength, CancellationToken cancellationToken);
}
