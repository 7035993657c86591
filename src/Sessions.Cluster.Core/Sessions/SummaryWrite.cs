using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The summary sidecar an append carries (one round trip per SDK <c>append</c>): the caller's fold of the batch with the
/// SDK's <c>foldSessionSummary</c> over the sidecar version it holds. Stored after the entries, in the same call, only if
/// the sidecar is still at <paramref name="ExpectedVersion"/> and, for a fold from nothing (0), only if the append created
/// the transcript (otherwise the fold would miss the entries already there); its mtime is the append's store mtime.
/// </summary>
/// <param name="DataJson">The folded <c>SessionSummaryEntry.data</c>, a JSON object as text (at most <see cref="EntryLimits.MaxSidecarBytes"/>).</param>
/// <param name="ExpectedVersion">The sidecar version the fold started from; 0 when the caller folded from nothing.</param>
public sealed record SummaryWrite(string DataJson, long ExpectedVersion);

/// <summary>What became of an append's <see cref="SummaryWrite"/>.</summary>
/// <param name="Stored">True when the sidecar was replaced by the caller's fold.</param>
/// <param name="Version">The sidecar's version now: the new one when stored, the current one on a conflict (0 = none).</param>
/// <param name="Current">On a conflict, the sidecar as stored now (null when there is none), so the caller can fold
/// again without reading it.</param>
public sealed record SummaryWriteOutcome(bool Stored, long Version, SummaryRecord? Current);
