namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A session in its tenant's trash: expired by retention, invisible to listings and the SessionStore primitives, its
/// transcripts untouched in the store until it is purged or restored.
/// </summary>
/// <param name="Tenant">Tenant.</param>
/// <param name="ProjectKey">Project key.</param>
/// <param name="SessionId">Session id.</param>
/// <param name="LastWrite">The session's last activity when it expired, epoch ms.</param>
/// <param name="Size">The main transcript's length when it expired, bytes; a purge deletes it only if it is still this.</param>
/// <param name="TrashedAt">When it went to the trash, epoch ms; it is purged a grace period later.</param>
/// <param name="Title">Its title then (custom title, else summary, else first prompt), for people browsing the trash.</param>
public sealed record TrashedSession(string Tenant, string ProjectKey, string SessionId, long LastWrite, long Size, long TrashedAt, string? Title);

/// <summary>Where a page of <see cref="ISessionCatalog.ListExpiredAsync"/> ends: the next page starts after this row.</summary>
/// <param name="Mtime">The row's last write, epoch ms.</param>
/// <param name="ProjectKey">Its project key.</param>
/// <param name="SessionId">Its session id.</param>
public sealed record ExpiredCursor(long Mtime, string ProjectKey, string SessionId);

/// <summary>One audited retention or erasure step.</summary>
/// <param name="Tenant">Tenant.</param>
/// <param name="ProjectKey">Project key.</param>
/// <param name="SessionId">Session id.</param>
/// <param name="LastWrite">The session's last write, epoch ms.</param>
/// <param name="Size">Transcript size, bytes.</param>
/// <param name="DeletedAt">When the step happened, epoch ms.</param>
/// <param name="Node">The silo or caller that did it.</param>
/// <param name="Reason">The step: <see cref="AuditReasons"/>.</param>
public sealed record AuditRecord(string Tenant, string ProjectKey, string SessionId, long LastWrite, long Size, long DeletedAt, string Node, string Reason);

/// <summary>The steps <see cref="AuditRecord.Reason"/> names.</summary>
public static class AuditReasons
{
    /// <summary>Expired by retention and moved to the trash.</summary>
    public const string Retention = "retention";

    /// <summary>Brought back from the trash (by a person, or by a write that arrived during the grace period).</summary>
    public const string Restore = "restore";

    /// <summary>Purged from the trash when its grace period ended: nothing of it is left.</summary>
    public const string Purge = "purge";

    /// <summary>Deleted at once on request (right to erasure), trash included.</summary>
    public const string Erasure = "erasure";

    /// <summary>
    /// A fork dropped because its transcript could not be written from its parent's stored bytes (a line no reader can
    /// read): it never became a session, and it no longer holds up its parent's delete, purge or erasure.
    /// </summary>
    public const string ForkFailed = "fork_failed";
}
