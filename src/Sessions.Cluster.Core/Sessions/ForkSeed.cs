namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// Everything that fixes a fork's transcript (the inputs of the SDK's <c>forkSession</c> at one instant): the fork's
/// grain persists it before the fork call answers and writes the transcript from it, so the same bytes come out
/// whenever and wherever the write happens. The parent is append-only, so its first <see cref="ParentLength"/> bytes
/// are the history the fork was taken from.
/// </summary>
/// <param name="ParentSessionId">The parent session (same tenant and project key as the fork).</param>
/// <param name="ParentLength">The parent's committed length when the fork was taken, bytes.</param>
/// <param name="UpToMessageId">Inclusive end of the slice, or null for the whole history.</param>
/// <param name="Title">The title asked for, or null.</param>
/// <param name="ParentTitle">The parent's title at fork time (custom title, else first prompt), or null.</param>
/// <param name="ForkTime">When the fork was taken, epoch ms (stamped on its last entries).</param>
public sealed record ForkSeed(string ParentSessionId, long ParentLength, string? UpToMessageId, string? Title, string? ParentTitle, long ForkTime);

/// <summary>What the parent's side of a fork fixed (<see cref="SessionService.SnapshotForkAsync"/>).</summary>
/// <param name="ForkId">The fork's new session id.</param>
/// <param name="Seed">The seed the fork's transcript is written from.</param>
/// <param name="WriteNow">
/// The fork must be written before the call answers: the snapshot could not tell cheaply that the fork will succeed
/// (so the SDK's error reaches the caller), the tenant has a quota the fork must fit, or the parent is ephemeral.
/// </param>
/// <param name="EphemeralParent">An ephemeral parent's first <see cref="ForkSeed.ParentLength"/> bytes (they exist only in its silo's memory); null otherwise.</param>
public sealed record ForkSnapshot(string ForkId, ForkSeed Seed, bool WriteNow, byte[]? EphemeralParent);
