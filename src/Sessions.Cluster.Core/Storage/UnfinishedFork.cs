namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The catalog's note of a fork whose grain state may still exist: the fork's persisted seed and its parent's note of
/// it (both transient grain state, cleared once the fork's transcript is written and the parent told). Made before
/// either state is written and removed after both are cleared, so the rows name every such state: a start finishes
/// these forks, and a tenant's erasure clears their states, without listing the grain storage (Orleans' storage
/// providers read and write one grain's state; they do not enumerate).
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="ProjectKey">The project key of the fork and of its parent.</param>
/// <param name="ForkId">The fork's session id.</param>
/// <param name="ParentSessionId">The parent's session id.</param>
/// <param name="At">When the note was made, Unix epoch milliseconds.</param>
public sealed record UnfinishedFork(string Tenant, string ProjectKey, string ForkId, string ParentSessionId, long At);
