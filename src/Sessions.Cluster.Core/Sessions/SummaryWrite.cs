using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The summary sidecar an append carries (one round trip per SDK <c>append</c>): the caller's fold of the batch with the
/// SDK's <c>foldSessionSummary</c> over the sidecar version it holds. Stored after the entries, in the same call, with
/// the append's store mtime, only if the fold is whole: the sidecar is still at <paramref name="ExpectedVersion"/> and
/// had seen every earlier write (it is not older than the transcript was), or, for a fold from nothing (0), the append
/// created the transcript.
/// </summary>
/// <param name="DataJson">The folded <c>SessionSummaryEntry.data</c>, a JSON object as text (at most <see cref="EntryLimits.MaxSidecarBytes"/>).</param>
/// <param name="ExpectedVersion">The sidecar version the fold started from; 0 when the caller folded from nothing.</param>
public sealed record SummaryWrite(string DataJson, long ExpectedVersion);

/// <summary>What became of an append's <see cref="SummaryWrite"/>.</summary>
/// <param name="Stored">True when the sidecar was replaced by the caller's fold.</param>
/// <param name="Version">The sidecar's version now: the new one when stored, else the one to replace (0 = none).</param>
/// <param name="Current">When not stored: the sidecar to fold the batch over (another writer's, newer than the caller's),
/// or null when the caller must fold the whole transcript from nothing (no sidecar, or one that missed a write).</param>
public sealed record SummaryWriteOutcome(bool Stored, long Version, SummaryRecord? Current);
