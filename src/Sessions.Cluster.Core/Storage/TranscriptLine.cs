namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// One entry as it is persisted: the UTF-8 bytes of a single JSON object, without the trailing newline, plus the
/// entry's <c>uuid</c> (its idempotency key, null when the entry has none). Built by <see cref="EntryParser"/>.
/// </summary>
/// <param name="Json">Compact JSON text of the entry; never contains a raw line break.</param>
/// <param name="Uuid">The entry's <c>uuid</c> string field, or null.</param>
public sealed record TranscriptLine(ReadOnlyMemory<byte> Json, string? Uuid);

/// <summary>Outcome of <see cref="ITranscriptLog.AppendAsync"/>.</summary>
/// <param name="Appended">Entries written by this call.</param>
/// <param name="Duplicates">Entries skipped because their <c>uuid</c> was already in the log (or earlier in the batch).</param>
/// <param name="Length">Committed length of the log in bytes after the call.</param>
/// <param name="Mtime">The store's write time, integer Unix epoch milliseconds (unchanged when nothing was written).</param>
/// <param name="Created">True when this call created the log.</param>
/// <param name="Bytes">Bytes this call wrote, newlines included.</param>
/// <param name="Summary">What became of the summary sidecar the append carried (<see cref="Sessions.SummaryWrite"/>), or null when it carried none.</param>
/// <param name="PreviousMtime">The log's mtime before this call (epoch ms; 0 when the call created it): a summary sidecar
/// older than it missed a write. A store that cannot tell exactly errs late (a later value only costs a whole fold).</param>
public sealed record AppendResult(int Appended, int Duplicates, long Length, long Mtime, bool Created, long Bytes = 0, Sessions.SummaryWriteOutcome? Summary = null, long PreviousMtime = 0);

/// <summary>What a store knows about one log without reading it.</summary>
/// <param name="Key">The log's key.</param>
/// <param name="Length">Committed length in bytes (up to and including the last newline).</param>
/// <param name="Mtime">Last write, integer Unix epoch milliseconds.</param>
public sealed record TranscriptStat(SessionKey Key, long Length, long Mtime);
