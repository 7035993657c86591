namespace Sessions.Cluster.Core.Retention;

/// <summary>Retention settings (configuration section <c>Sessions:Retention</c>).</summary>
public sealed class RetentionOptions
{
    /// <summary>Days a session is kept after its last write when the tenant sets nothing (Claude Code's default).</summary>
    public const int DefaultCleanupPeriodDays = 30;

    /// <summary>The shortest <c>cleanupPeriodDays</c> a tenant may set.</summary>
    public const int MinimumCleanupPeriodDays = 1;

    /// <summary>The longest <c>cleanupPeriodDays</c> a tenant may set (100 years).</summary>
    public const int MaximumCleanupPeriodDays = 36_500;

    /// <summary>
    /// Whether retention runs: each tenant's retention grain keeps an Orleans reminder that sweeps it every
    /// <see cref="SweepPeriod"/>. When false no reminder is registered (sweeps on request still run).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>cleanupPeriodDays</c> for tenants without their own.</summary>
    public int DefaultDays { get; set; } = DefaultCleanupPeriodDays;

    /// <summary>Time between sweeps of a tenant (the reminder's period; Orleans' minimum is one minute).</summary>
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time from a tenant's reminder registration to its first sweep (short in tests); null means one <see cref="SweepPeriod"/>.</summary>
    public TimeSpan? SweepDueTime { get; set; }

    /// <summary>Days an expired session stays in the trash, restorable, before it is purged; 0 purges at once.</summary>
    public int GraceDays { get; set; } = 7;

    /// <summary>Candidates read from the catalog per page.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Sessions asked to expire or purge at once by one sweep.</summary>
    public int Parallelism { get; set; } = 16;

    /// <summary>Tags that exempt a session from retention, like a hold (default <c>legal-hold</c>).</summary>
    public IReadOnlyList<string> HoldTags { get; set; } = ["legal-hold"];
}
