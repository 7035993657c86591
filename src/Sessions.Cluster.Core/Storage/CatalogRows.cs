using System.Data.Common;
using System.Globalization;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Reads catalog rows into records, for every catalog: each selects its columns in the orders given here, and
/// <see cref="Convert"/> absorbs the providers' differences (SQLite integers for booleans, PostgreSQL int4).
/// </summary>
public static class CatalogRows
{
    /// <summary>Column list of <see cref="Session"/>.</summary>
    public const string SessionColumns = "tenant, project_key, session_id, mtime, size, listed, summary, custom_title, first_prompt, tag, cwd, git_branch, created_at, parent_session_id, is_sidechain, usage";

    /// <summary>How many columns <see cref="SessionColumns"/> names (a query's own columns follow them).</summary>
    public static readonly int SessionColumnCount = SessionColumns.Split(", ").Length;

    /// <summary>Column list of <see cref="Audit"/>.</summary>
    public const string AuditColumns = "tenant, project_key, session_id, last_write, size, deleted_at, node, reason";

    /// <summary>Column list of <see cref="Trashed"/>.</summary>
    public const string TrashColumns = "tenant, project_key, session_id, last_write, size, trashed_at, title";

    /// <summary>Column list of <see cref="Tenant"/>.</summary>
    public const string TenantColumns = "tenant, created_at, max_sessions, max_bytes, max_entry_bytes, requests_per_minute";

    /// <summary>Column list of <see cref="Key"/>.</summary>
    public const string KeyColumns = "key_id, tenant, secret_hash, scopes, label, created_at, revoked_at";

    /// <summary>A session row (<see cref="SessionColumns"/>).</summary>
    public static SessionRecord Session(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        // Typed getters (no boxing): this runs once per listed row.
        return new SessionRecord
        {
            Tenant = r.GetString(0),
            ProjectKey = r.GetString(1),
            SessionId = r.GetString(2),
            Mtime = r.GetInt64(3),
            Size = r.GetInt64(4),
            Listed = r.GetBoolean(5),
            Summary = Text(r, 6),
            CustomTitle = Text(r, 7),
            FirstPrompt = Text(r, 8),
            Tag = Text(r, 9),
            Cwd = Text(r, 10),
            GitBranch = Text(r, 11),
            CreatedAt = r.IsDBNull(12) ? null : r.GetInt64(12),
            ParentSessionId = Text(r, 13),
            IsSidechain = r.GetBoolean(14),
            Usage = Text(r, 15),
        };
    }

    /// <summary>An audit row (<see cref="AuditColumns"/>).</summary>
    public static AuditRecord Audit(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new AuditRecord(r.GetString(0), r.GetString(1), r.GetString(2), Long(r, 3), Long(r, 4), Long(r, 5), r.GetString(6), r.GetString(7));
    }

    /// <summary>A trash row (<see cref="TrashColumns"/>).</summary>
    public static TrashedSession Trashed(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new TrashedSession(r.GetString(0), r.GetString(1), r.GetString(2), Long(r, 3), Long(r, 4), Long(r, 5), r.IsDBNull(6) ? null : r.GetString(6));
    }


    /// <summary>A tenant row (<see cref="TenantColumns"/>).</summary>
    public static TenantRecord Tenant(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new TenantRecord(r.GetString(0), Long(r, 1), new TenantLimits(NullableLong(r, 2), NullableLong(r, 3), (int?)NullableLong(r, 4), (int?)NullableLong(r, 5)));
    }

    /// <summary>An API key row (<see cref="KeyColumns"/>); scopes are stored space-separated.</summary>
    public static ApiKeyRecord Key(DbDataReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new ApiKeyRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries), r.GetString(4), Long(r, 5), NullableLong(r, 6));
    }

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);

    private static long? NullableLong(DbDataReader r, int i) => r.IsDBNull(i) ? null : Long(r, i);

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}
