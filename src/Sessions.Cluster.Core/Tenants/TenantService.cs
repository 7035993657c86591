using System.Collections.Concurrent;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Tenants;

/// <summary>
/// Tenants, their API keys and limits, and the right to erasure of a whole tenant. Keys are generated here, handed
/// out once, and only their hash is kept. Effective limits are the tenant's own, else the server defaults; they are
/// cached for <see cref="LimitsCacheTime"/>.
/// </summary>
public sealed class TenantService(ITenantDirectory directory, ISessionCatalog catalog, ITranscriptStore store, TimeProvider timeProvider, TenantLimits defaults)
{
    /// <summary>How long a tenant's effective limits are cached on a node.</summary>
    public static readonly TimeSpan LimitsCacheTime = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (TenantLimits Limits, DateTimeOffset Until)> _limits = new(StringComparer.Ordinal);

    /// <summary>Server-wide default limits.</summary>
    public TenantLimits Defaults => defaults;

    /// <summary>Creates a tenant.</summary>
    /// <exception cref="InvalidKeyException">The name is not a safe key.</exception>
    /// <exception cref="ConflictException">It exists.</exception>
    public async Task<TenantRecord> CreateAsync(string tenant, TenantLimits? limits, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        Validate(limits ?? new TenantLimits());
        var record = new TenantRecord(tenant, Now(), limits ?? new TenantLimits());
        await directory.CreateTenantAsync(record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>A tenant with what it uses.</summary>
    /// <exception cref="NotFoundException">No such tenant.</exception>
    public async Task<(TenantRecord Tenant, TenantUsage Usage)> GetAsync(string tenant, CancellationToken cancellationToken)
    {
        var record = await RequireAsync(tenant, cancellationToken).ConfigureAwait(false);
        await catalog.FlushAsync(cancellationToken).ConfigureAwait(false);
        return (record, await directory.GetUsageAsync(tenant, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every registered tenant.</summary>
    public Task<IReadOnlyList<TenantRecord>> ListAsync(CancellationToken cancellationToken) => directory.ListTenantRecordsAsync(cancellationToken);

    /// <summary>Replaces a tenant's limits.</summary>
    /// <exception cref="NotFoundException">No such tenant.</exception>
    public async Task SetLimitsAsync(string tenant, TenantLimits limits, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        Validate(limits);
        if (!await directory.SetLimitsAsync(tenant, limits, cancellationToken).ConfigureAwait(false))
        {
            throw TenantNotFound(tenant);
        }

        _limits.TryRemove(tenant, out _);
    }

    /// <summary>The limits in force for a tenant: its own, else the defaults, field by field.</summary>
    public async Task<TenantLimits> GetEffectiveLimitsAsync(string tenant, CancellationToken cancellationToken)
    {
        if (_limits.TryGetValue(tenant, out var cached) && cached.Until > timeProvider.GetUtcNow())
        {
            return cached.Limits;
        }

        var own = (await directory.GetTenantAsync(tenant, cancellationToken).ConfigureAwait(false))?.Limits ?? new TenantLimits();
        var effective = new TenantLimits(
            own.MaxSessions ?? defaults.MaxSessions,
            own.MaxBytes ?? defaults.MaxBytes,
            own.MaxEntryBytes ?? defaults.MaxEntryBytes,
            own.RequestsPerMinute ?? defaults.RequestsPerMinute);
        _limits[tenant] = (effective, timeProvider.GetUtcNow() + LimitsCacheTime);
        return effective;
    }

    /// <summary>Issues a key for a tenant; the returned plain key is the only copy there will ever be.</summary>
    /// <exception cref="InvalidRequestException">No scopes, or an unknown one.</exception>
    /// <exception cref="NotFoundException">No such tenant.</exception>
    public async Task<(string Key, ApiKeyRecord Record)> IssueKeyAsync(string tenant, IReadOnlyList<string>? scopes, string? label, CancellationToken cancellationToken)
    {
        await RequireAsync(tenant, cancellationToken).ConfigureAwait(false);
        var granted = (scopes ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (granted.Count == 0 || granted.Any(s => !ApiScopes.All.Contains(s)))
        {
            throw new InvalidRequestException("invalid_scopes", $"scopes must be a non-empty subset of [{string.Join(", ", ApiScopes.All)}].");
        }

        var (key, keyId, hash) = ApiKeys.Generate();
        var record = new ApiKeyRecord(keyId, tenant, hash, granted, (label ?? "").Trim(), Now(), null);
        await directory.CreateKeyAsync(record, cancellationToken).ConfigureAwait(false);
        return (key, record);
    }

    /// <summary>A tenant's keys (ids, scopes, labels, dates; never secrets).</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return await directory.ListKeysAsync(tenant, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Revokes a key: every node refuses it from the next request on.</summary>
    /// <exception cref="NotFoundException">The tenant has no such valid key.</exception>
    public async Task RevokeKeyAsync(string tenant, string keyId, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        if (!await directory.RevokeKeyAsync(tenant, keyId, Now(), cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException("key_not_found", $"Tenant '{tenant}' has no valid key '{keyId}'.");
        }
    }

    /// <summary>
    /// Right to erasure of a whole tenant: every transcript and subpath (forks included: they are the tenant's
    /// sessions), every catalog row, sidecar and hold, its policy, keys and record. One audit record per erased session
    /// is kept (ids and sizes only, no content).
    /// </summary>
    /// <returns>How many sessions were erased.</returns>
    public async Task<int> EraseAsync(string tenant, string actor, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var erased = 0;
        await foreach (var stat in store.ListMainTranscriptsAsync(tenant, cancellationToken).ConfigureAwait(false))
        {
            await directory.AuditAsync(tenant, stat.Key.ProjectKey, stat.Key.SessionId, stat.Length, Now(), actor, Storage.AuditReasons.Erasure, cancellationToken).ConfigureAwait(false);
            erased++;
        }

        if (erased == 0 && await directory.GetTenantAsync(tenant, cancellationToken).ConfigureAwait(false) is null)
        {
            // Nothing stored and never created: an unknown tenant (a typo must not answer "erased").
            throw TenantNotFound(tenant);
        }

        await store.DeleteTenantAsync(tenant, cancellationToken).ConfigureAwait(false);
        await catalog.DeleteTenantAsync(tenant, cancellationToken).ConfigureAwait(false);
        await directory.DeleteTenantRecordAsync(tenant, cancellationToken).ConfigureAwait(false);
        _limits.TryRemove(tenant, out _);
        return erased;
    }

    private async Task<TenantRecord> RequireAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return await directory.GetTenantAsync(tenant, cancellationToken).ConfigureAwait(false) ?? throw TenantNotFound(tenant);
    }

    private static void Validate(TenantLimits limits)
    {
        if (limits.MaxSessions < 0 || limits.MaxBytes < 0 || limits.MaxEntryBytes <= 0 || limits.RequestsPerMinute <= 0)
        {
            throw new InvalidRequestException("invalid_limits", "Limits must be positive (maxSessions and maxBytes may be 0).");
        }
    }

    private static NotFoundException TenantNotFound(string tenant) => new("tenant_not_found", $"Tenant '{tenant}' does not exist.");

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}
