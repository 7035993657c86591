namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A catalog row: what the SDK's <c>SDKSessionInfo</c> holds for one session plus storage facts. Times are integer
/// Unix epoch milliseconds.
/// </summary>
public sealed record SessionRecord
{
    /// <summary>Owning tenant.</summary>
    public required string Tenant { get; init; }

    /// <summary>Project key (SDK <c>projectKey</c>).</summary>
    public required string ProjectKey { get; init; }

    /// <summary>Session id.</summary>
    public required string SessionId { get; init; }

    /// <summary>Store write time of the last append.</summary>
    public required long Mtime { get; init; }

    /// <summary>Committed transcript size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>
    /// False when the SDK would not list this session: its first line is a sidechain, or it has no title, prompt or
    /// summary to show (summary-only and sidechain-only files are handled as the SDK does).
    /// </summary>
    public required bool Listed { get; init; }

    /// <summary>Display title: custom title, else last prompt/summary, else first prompt.</summary>
    public string? Summary { get; init; }

    /// <summary>User-set (or AI) title.</summary>
    public string? CustomTitle { get; init; }

    /// <summary>First meaningful user prompt, cut at 200 characters plus "…".</summary>
    public string? FirstPrompt { get; init; }

    /// <summary>Last tag (null when none or cleared).</summary>
    public string? Tag { get; init; }

    /// <summary>Working directory.</summary>
    public string? Cwd { get; init; }

    /// <summary>Git branch at the end of the session.</summary>
    public string? GitBranch { get; init; }

    /// <summary>Timestamp of the first entry.</summary>
    public long? CreatedAt { get; init; }

    /// <summary>The session this one was forked from (<c>forkedFrom.sessionId</c> of its first entry), if any.</summary>
    public string? ParentSessionId { get; init; }

    /// <summary>True when the first line is a sidechain (never the target of "continue").</summary>
    public bool IsSidechain { get; init; }

    /// <summary>
    /// The models and token totals of the main transcript as JSON (<see cref="SessionUsage.ToJson"/>), or null when not
    /// counted (a row written before the catalog kept them; the session's next write counts them).
    /// </summary>
    public string? Usage { get; init; }
}

/// <summary>Filters and paging for <see cref="ISessionCatalog.ListAsync"/>.</summary>
/// <param name="Limit">Page size, 1..1000.</param>
/// <param name="Cursor">Opaque cursor from the previous page, or null for the first.</param>
/// <param name="Tag">Only sessions whose tag equals this, when set.</param>
/// <param name="Text">Only sessions whose title, first prompt or summary contains this (case-insensitive), when set.</param>
/// <param name="IncludeUnlisted">Also return rows the SDK would not list (sidechain-only, no summary).</param>
public sealed record SessionQuery(int Limit = 100, string? Cursor = null, string? Tag = null, string? Text = null, bool IncludeUnlisted = false);

/// <summary>One page of sessions.</summary>
/// <param name="Items">Rows, newest first.</param>
/// <param name="NextCursor">Cursor of the next page, null on the last.</param>
public sealed record SessionPage(IReadOnlyList<SessionRecord> Items, string? NextCursor);

/// <summary>One page of sessions, each already rendered as the listing's JSON object (see <see cref="ISessionCatalog.ListRenderedAsync"/>).</summary>
/// <param name="Items">UTF-8 JSON objects, newest first.</param>
/// <param name="NextCursor">Cursor of the next page, null on the last.</param>
public sealed record RenderedPage(IReadOnlyList<byte[]> Items, string? NextCursor);

/// <summary>A stored summary sidecar (the SDK's <c>SessionSummaryEntry</c>) with its CAS version.</summary>
/// <param name="SessionId">Session id.</param>
/// <param name="Mtime">Store write time the adapter stamped, integer Unix epoch ms.</param>
/// <param name="DataJson">The opaque <c>data</c> object, verbatim.</param>
/// <param name="Version">Monotonic version for compare-and-swap, starting at 1.</param>
public sealed record SummaryRecord(string SessionId, long Mtime, string DataJson, long Version);

/// <summary>A summary sidecar with its tenant and project key (<see cref="ISessionCatalog.WriteSummariesAsync"/>).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="ProjectKey">The project key.</param>
/// <param name="Summary">The sidecar, version included.</param>
public sealed record TenantSummary(string Tenant, string ProjectKey, SummaryRecord Summary);

/// <summary>One project of a tenant, as <c>sessions projects</c> lists it.</summary>
/// <param name="ProjectKey">The project key.</param>
/// <param name="Sessions">Listed sessions (main, non-sidechain transcripts).</param>
/// <param name="LastActivity">Last activity of its most recent session, epoch ms.</param>
/// <param name="Cwd">The cwd of its most recent session that has one, or null.</param>
public sealed record ProjectSummary(string ProjectKey, int Sessions, long LastActivity, string? Cwd);
