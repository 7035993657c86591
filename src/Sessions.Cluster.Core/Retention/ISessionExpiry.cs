namespace Sessions.Cluster.Core.Retention;

/// <summary>
/// What a retention sweep asks of each session: the one writer of the session decides, so a write racing the sweep
/// always wins (in the cluster this is the session's grain; see <see cref="Sessions.SessionService.ExpireAsync"/>).
/// </summary>
public interface ISessionExpiry
{
    /// <summary>
    /// Expires the session of <paramref name="listed"/> if its last activity is still before <paramref name="cutoff"/>
    /// (epoch ms) and it is not held: the decision is made on the row the sweep listed, and the move to the trash is
    /// conditional on that row being unchanged and unheld (<see cref="Storage.ISessionCatalog.MoveToTrashAsync"/>).
    /// </summary>
    /// <param name="tenant">The session's tenant.</param>
    /// <param name="listed">The session's catalog row as the sweep listed it.</param>
    /// <param name="cutoff">Last activity before this expires, epoch ms.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<ExpireOutcome> ExpireAsync(string tenant, Storage.SessionRecord listed, long cutoff, CancellationToken cancellationToken);

    /// <summary>Purges the session from the trash if it went there before <paramref name="trashedBefore"/> (epoch ms).</summary>
    Task<PurgeOutcome> PurgeAsync(string tenant, string projectKey, string sessionId, long trashedBefore, CancellationToken cancellationToken);
}

/// <summary>What asking a session to expire did.</summary>
public enum ExpireOutcome
{
    /// <summary>It went to the tenant's trash.</summary>
    Trashed,

    /// <summary>It went to the trash and, with no grace period, was purged at once.</summary>
    Purged,

    /// <summary>Nothing: it was written after the cut-off (the write wins).</summary>
    Active,

    /// <summary>Nothing: it is held (a hold record or a hold tag).</summary>
    Held,

    /// <summary>Nothing: it has no row any more (in the trash already, deleted, or its transcript was gone and the stale row was removed).</summary>
    Missing,
}

/// <summary>What asking a trashed session to purge did.</summary>
public enum PurgeOutcome
{
    /// <summary>Its transcripts, subagent transcripts, sidecar and trash entry are gone.</summary>
    Purged,

    /// <summary>Nothing: its grace period has not ended.</summary>
    NotDue,

    /// <summary>It was written during its grace period, so it came back out of the trash instead.</summary>
    Restored,

    /// <summary>Nothing: it is not in the trash.</summary>
    NotInTrash,
}
