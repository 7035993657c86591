namespace Sessions.Cluster.Core.Tenants;

/// <summary>Tenants, their limits and their API keys; kept in the catalog database.</summary>
public interface ITenantDirectory
{
    /// <summary>Creates a tenant.</summary>
    /// <exception cref="ConflictException">It exists already (code <c>tenant_exists</c>).</exception>
    Task CreateTenantAsync(TenantRecord tenant, CancellationToken cancellationToken);

    /// <summary>A tenant, or null.</summary>
    Task<TenantRecord?> GetTenantAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Every registered tenant.</summary>
    Task<IReadOnlyList<TenantRecord>> ListTenantRecordsAsync(CancellationToken cancellationToken);

    /// <summary>Replaces a tenant's limits; false when there is no such tenant.</summary>
    Task<bool> SetLimitsAsync(string tenant, TenantLimits limits, CancellationToken cancellationToken);

    /// <summary>Removes a tenant, its keys and its policies (its sessions are erased separately).</summary>
    Task DeleteTenantRecordAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>What a tenant holds now.</summary>
    Task<TenantUsage> GetUsageAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Stores a new key.</summary>
    Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>A key by its id (revoked ones included), or null.</summary>
    Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken);

    /// <summary>A tenant's keys, newest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>Revokes a key of the tenant at once; false when the tenant has no such valid key.</summary>
    Task<bool> RevokeKeyAsync(string tenant, string keyId, long now, CancellationToken cancellationToken);

    /// <summary>
    /// Writes an audit record of a step that removed a session outside retention's own moves: an erasure (a session or
    /// a whole tenant, <see cref="Storage.AuditReasons.Erasure"/>) or a fork dropped because it could not be written
    /// (<see cref="Storage.AuditReasons.ForkFailed"/>). A second record of the same step and time is not written.
    /// </summary>
    /// <param name="tenant">Tenant.</param>
    /// <param name="projectKey">Project key.</param>
    /// <param name="sessionId">Session id.</param>
    /// <param name="size">Bytes the session held.</param>
    /// <param name="now">When, epoch ms (also the record's last write).</param>
    /// <param name="actor">Who or what did it (an API caller, a node).</param>
    /// <param name="reason">One of <see cref="Storage.AuditReasons"/>.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    Task AuditAsync(string tenant, string projectKey, string sessionId, long size, long now, string actor, string reason, CancellationToken cancellationToken);
}
