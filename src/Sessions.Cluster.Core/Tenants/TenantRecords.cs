namespace Sessions.Cluster.Core.Tenants;

/// <summary>A tenant and its limits (null = the server's default).</summary>
/// <param name="Tenant">Tenant name (a safe key, see <see cref="KeyRules.ValidateTenant"/>).</param>
/// <param name="CreatedAt">Creation time, epoch ms.</param>
/// <param name="Limits">Quotas and limits of this tenant.</param>
public sealed record TenantRecord(string Tenant, long CreatedAt, TenantLimits Limits);

/// <summary>Per-tenant quotas and limits; a null field falls back to the server-wide default.</summary>
/// <param name="MaxSessions">Most sessions (main transcripts) the tenant may hold.</param>
/// <param name="MaxBytes">Most transcript bytes the tenant may hold (main transcripts, as the catalog counts them).</param>
/// <param name="MaxEntryBytes">Largest single entry, bytes.</param>
/// <param name="RequestsPerMinute">Requests per minute per node (token bucket).</param>
public sealed record TenantLimits(long? MaxSessions = null, long? MaxBytes = null, int? MaxEntryBytes = null, int? RequestsPerMinute = null);

/// <summary>What one tenant uses now.</summary>
/// <param name="Sessions">Sessions (main transcripts).</param>
/// <param name="Bytes">Bytes of main transcripts.</param>
public sealed record TenantUsage(long Sessions, long Bytes);

/// <summary>An issued API key (its secret is never stored, only a hash of it).</summary>
/// <param name="KeyId">Public identifier, part of the key.</param>
/// <param name="Tenant">The tenant every request with this key acts for.</param>
/// <param name="SecretHash">SHA-256 of the secret part, hex.</param>
/// <param name="Scopes">Granted scopes (<see cref="ApiScopes"/>).</param>
/// <param name="Label">Free text to recognise the key.</param>
/// <param name="CreatedAt">Issue time, epoch ms.</param>
/// <param name="RevokedAt">Revocation time, epoch ms, or null while valid.</param>
public sealed record ApiKeyRecord(string KeyId, string Tenant, string SecretHash, IReadOnlyList<string> Scopes, string Label, long CreatedAt, long? RevokedAt);

/// <summary>The scopes an API key can carry.</summary>
public static class ApiScopes
{
    /// <summary>Read sessions, transcripts, listings.</summary>
    public const string Read = "read";

    /// <summary>Append, fork, rename, tag, delete sessions.</summary>
    public const string Write = "write";

    /// <summary>Manage the tenant: its keys, retention policy, holds, audit, erasure.</summary>
    public const string Admin = "admin";

    /// <summary>Every scope a tenant key may have.</summary>
    public static readonly IReadOnlyList<string> All = [Read, Write, Admin];
}
