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

    /// <summary>Whether this node runs the sweeper (every node does by default; claims keep them from colliding).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>cleanupPeriodDays</c> for tenants without their own.</summary>
    public int DefaultDays { get; set; } = DefaultCleanupPeriodDays;

    /// <summary>Time between sweeps.</summary>
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a claim protects a session from other nodes; a node that dies mid-sweep loses its claims after this.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Sessions claimed per round trip.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>Deletions run at once on one node.</summary>
    public int Parallelism { get; set; } = 16;

    /// <summary>Tags that exempt a session from retention, like a hold (default <c>legal-hold</c>).</summary>
    public IReadOnlyList<string> HoldTags { get; set; } = ["legal-hold"];
}
