using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Retention;

/// <summary>
/// Enforces each tenant's <c>cleanupPeriodDays</c>: a session whose last activity is older than that goes to the
/// tenant's trash, and is purged (transcript, subpaths, sidecar, catalog row) <see cref="RetentionOptions.GraceDays"/>
/// later unless restored; a hold record or a hold tag exempts it. A sweep only finds candidates in the catalog and asks
/// each session's single writer (<see cref="ISessionExpiry"/>) to expire it, so a write racing the sweep always wins,
/// and a sweep run twice finds nothing left to do. Every step writes one audit record. Forks are independent
/// sessions, so deleting a parent never touches them. Time comes from the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class RetentionService(ISessionCatalog catalog, TimeProvider timeProvider, RetentionOptions options)
{
    private const long MillisecondsPerDay = 86_400_000;

    /// <summary>The options in force.</summary>
    public RetentionOptions Options => options;

    /// <summary>The tenant's <c>cleanupPeriodDays</c>, its own or the default.</summary>
    public async Task<(int Days, bool IsDefault)> GetPolicyAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var own = await catalog.GetCleanupPeriodDaysAsync(tenant, cancellationToken).ConfigureAwait(false);
        return (own ?? Math.Max(RetentionOptions.MinimumCleanupPeriodDays, options.DefaultDays), own is null);
    }

    /// <summary>Sets the tenant's <c>cleanupPeriodDays</c>.</summary>
    /// <exception cref="InvalidRequestException">Outside 1..36500 (code <c>invalid_cleanup_period</c>).</exception>
    public Task SetPolicyAsync(string tenant, int days, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        if (days is < RetentionOptions.MinimumCleanupPeriodDays or > RetentionOptions.MaximumCleanupPeriodDays)
        {
            throw new InvalidRequestException("invalid_cleanup_period", $"cleanupPeriodDays must be between {RetentionOptions.MinimumCleanupPeriodDays} and {RetentionOptions.MaximumCleanupPeriodDays}; it was {days}.");
        }

        return catalog.SetCleanupPeriodDaysAsync(tenant, days, cancellationToken);
    }

    /// <summary>Places a hold on a session: retention never deletes it until the hold is removed.</summary>
    /// <exception cref="NotFoundException">No such session.</exception>
    public async Task HoldAsync(string tenant, string projectKey, string sessionId, string? reason, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        KeyRules.ValidateSessionId(sessionId);
        if (await catalog.GetAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException("session_not_found", $"Session '{sessionId}' was not found in project '{projectKey}'.");
        }

        await catalog.SetHoldAsync(tenant, projectKey, sessionId, string.IsNullOrWhiteSpace(reason) ? "hold" : reason.Trim(), Now(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes a hold.</summary>
    /// <exception cref="NotFoundException">The session has no hold.</exception>
    public async Task ReleaseHoldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        KeyRules.ValidateSessionId(sessionId);
        if (!await catalog.RemoveHoldAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException("hold_not_found", $"Session '{sessionId}' has no hold.");
        }
    }

    /// <summary>A dry run: what a sweep of the tenant would delete now (oldest first), and the cut-off.</summary>
    public async Task<RetentionPreview> PreviewAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        var (days, _) = await GetPolicyAsync(tenant, cancellationToken).ConfigureAwait(false);
        var cutoff = Now() - (days * MillisecondsPerDay);
        var expired = await catalog.ListExpiredAsync(tenant, cutoff, options.HoldTags.ToList(), Math.Clamp(limit, 1, 100_000), null, cancellationToken).ConfigureAwait(false);
        return new RetentionPreview(days, cutoff, expired);
    }

    /// <summary>
    /// Sweeps one tenant: asks every session listed as expired to expire (into the trash), then every trash entry whose
    /// grace period ended to purge. Pages through the catalog once, so a session that stays (written meanwhile) is
    /// asked once per sweep.
    /// </summary>
    public async Task<SweepReport> SweepTenantAsync(string tenant, ISessionExpiry sessions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        var (days, _) = await GetPolicyAsync(tenant, cancellationToken).ConfigureAwait(false);
        var cutoff = Now() - (days * MillisecondsPerDay);
        var holdTags = options.HoldTags.ToList();
        int expired = 0, purged = 0, skipped = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken };
        ExpiredCursor? after = null;
        while (true)
        {
            var page = await catalog.ListExpiredAsync(tenant, cutoff, holdTags, options.BatchSize, after, cancellationToken).ConfigureAwait(false);
            if (page.Count == 0)
            {
                break;
            }

            await Parallel.ForEachAsync(page, parallel, async (row, ct) =>
            {
                var outcome = await sessions.ExpireAsync(tenant, row, cutoff, ct).ConfigureAwait(false);
                if (outcome == ExpireOutcome.Trashed)
                {
                    Interlocked.Increment(ref expired);
                }
                else if (outcome == ExpireOutcome.Purged)
                {
                    Interlocked.Increment(ref purged);
                }
                else
                {
                    Interlocked.Increment(ref skipped);
                }
            }).ConfigureAwait(false);
            var last = page[^1];
            after = new ExpiredCursor(last.Mtime, last.ProjectKey, last.SessionId);
        }

        expired += purged;
        var trashedBefore = Now() - (options.GraceDays * MillisecondsPerDay);
        while (true)
        {
            var due = await catalog.ListTrashAsync(tenant, trashedBefore, options.BatchSize, cancellationToken).ConfigureAwait(false);
            var progress = 0;
            await Parallel.ForEachAsync(due, parallel, async (entry, ct) =>
            {
                var outcome = await sessions.PurgeAsync(tenant, entry.ProjectKey, entry.SessionId, trashedBefore, ct).ConfigureAwait(false);
                if (outcome is PurgeOutcome.Purged or PurgeOutcome.Restored)
                {
                    Interlocked.Increment(ref progress);
                }

                if (outcome == PurgeOutcome.Purged)
                {
                    Interlocked.Increment(ref purged);
                }
            }).ConfigureAwait(false);
            if (due.Count < options.BatchSize || progress == 0)
            {
                break;
            }
        }

        return new SweepReport(expired, purged, skipped);
    }

    /// <summary>The tenant's trash, oldest first: what a sweep expired and has not purged yet.</summary>
    public async Task<TrashPage> ListTrashAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var entries = await catalog.ListTrashAsync(tenant, long.MaxValue, Math.Clamp(limit, 1, 100_000), cancellationToken).ConfigureAwait(false);
        return new TrashPage(options.GraceDays, entries);
    }

    /// <summary>The tenant's retention and erasure audit records, newest first.</summary>
    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return catalog.ListAuditAsync(tenant, Math.Clamp(limit, 1, 100_000), cancellationToken);
    }

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>What a sweep did.</summary>
/// <param name="Expired">Sessions moved to the trash (including those purged at once with no grace period).</param>
/// <param name="Purged">Sessions purged: gone from the trash and from storage.</param>
/// <param name="Skipped">Listed sessions left alone: written after the cut-off, held, or gone meanwhile.</param>
public sealed record SweepReport(int Expired, int Purged, int Skipped)
{
    /// <summary>Adds two reports.</summary>
    public static SweepReport operator +(SweepReport a, SweepReport b) =>
        new(a.Expired + b.Expired, a.Purged + b.Purged, a.Skipped + b.Skipped);
}

/// <summary>A tenant's trash.</summary>
/// <param name="GraceDays">Days an entry stays before it is purged.</param>
/// <param name="Sessions">The entries, oldest first.</param>
public sealed record TrashPage(int GraceDays, IReadOnlyList<TrashedSession> Sessions);

/// <summary>A dry run of retention for one tenant.</summary>
/// <param name="CleanupPeriodDays">The tenant's period.</param>
/// <param name="Cutoff">Sessions last written before this (epoch ms) would be deleted.</param>
/// <param name="Sessions">Those sessions, oldest first.</param>
public sealed record RetentionPreview(int CleanupPeriodDays, long Cutoff, IReadOnlyList<SessionRecord> Sessions);
