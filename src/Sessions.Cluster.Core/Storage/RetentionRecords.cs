namespace Sessions.Cluster.Core.Storage;

/// <summary>A session claimed for deletion by one node, as the catalog saw it at claim time.</summary>
/// <param name="Tenant">Tenant.</param>
/// <param name="ProjectKey">Project key.</param>
/// <param name="SessionId">Session id.</param>
/// <param name="Mtime">Last write at claim time, epoch ms.</param>
/// <param name="Size">Transcript size at claim time, bytes; the store deletes only if it is still this.</param>
public sealed record RetentionClaim(string Tenant, string ProjectKey, string SessionId, long Mtime, long Size);

/// <summary>One audited deletion.</summary>
/// <param name="Tenant">Tenant.</param>
/// <param name="ProjectKey">Project key.</param>
/// <param name="SessionId">Session id.</param>
/// <param name="LastWrite">The session's last write, epoch ms.</param>
/// <param name="Size">Transcript size, bytes.</param>
/// <param name="DeletedAt">When it was deleted, epoch ms.</param>
/// <param name="Node">The node that deleted it.</param>
/// <param name="Reason">Why (<c>retention</c>).</param>
public sealed record AuditRecord(string Tenant, string ProjectKey, string SessionId, long LastWrite, long Size, long DeletedAt, string Node, string Reason);
