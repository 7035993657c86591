namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A copy-on-write fork whose transcript is not written yet: everything needed to write it later, exactly as the
/// fork call would have (see <c>SessionService.ForkAsync</c>). The parent is append-only, so its first
/// <see cref="ParentLength"/> bytes are the consistent point the fork was taken at.
/// </summary>
/// <param name="Tenant">Tenant.</param>
/// <param name="ProjectKey">Project key of the parent and the fork.</param>
/// <param name="SessionId">The fork's session id.</param>
/// <param name="ParentSessionId">The parent session.</param>
/// <param name="ParentLength">The parent's committed length at fork time, bytes.</param>
/// <param name="UpToMessageId">Inclusive end of the slice, or null for the whole history.</param>
/// <param name="Title">The title asked for, or null.</param>
/// <param name="ParentTitle">The parent's title at fork time (custom title, else first prompt), or null.</param>
/// <param name="ForkTime">When the fork was taken, epoch ms (stamped on its last entry).</param>
public sealed record PendingFork(
    string Tenant, string ProjectKey, string SessionId, string ParentSessionId, long ParentLength, string? UpToMessageId, string? Title, string? ParentTitle, long ForkTime);
