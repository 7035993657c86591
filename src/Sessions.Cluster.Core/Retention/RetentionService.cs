using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Retention;

/// <summary>
/// Enforces each tenant's <c>cleanupPeriodDays</c>: a session whose last write is older than that is deleted with its
/// subpaths, catalog row and sidecar, unless it is held (a hold record or a hold tag). Every node may sweep at once:
/// sessions are claimed in the catalog (no two nodes get the same one), the transcript is deleted only if it is still
/// the length seen at the claim (a session written after its claim is never deleted), and each deletion writes one
/// audit record. Forks are independent sessions, so deleting a parent never touches them. Time comes from the
/// injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class RetentionService(ITranscriptStore store, ISessionCatalog catalog, TimeProvider timeProvider, RetentionOptions options)
{
    private const long MillisecondsPerDay = 86_400_000;

    /// <summary>This node's name in claims and audit records.</summary>
    public string NodeId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

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
        KeyRules.Validate(new SessionKey(projectKey, sessionId));
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
        KeyRules.Validate(new SessionKey(projectKey, sessionId));
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
        var expired = await catalog.ListExpiredAsync(tenant, cutoff, options.HoldTags.ToList(), Math.Clamp(limit, 1, 100_000), cancellationToken).ConfigureAwait(false);
        return new RetentionPreview(days, cutoff, expired);
    }

    /// <summary>Sweeps every tenant once.</summary>
    public async Task<SweepReport> SweepAllAsync(CancellationToken cancellationToken)
    {
        var total = new SweepReport(0, 0, 0);
        var tenants = new List<string>();
        await foreach (var tenant in catalog.ListTenantsAsync(cancellationToken).ConfigureAwait(false))
        {
            tenants.Add(tenant);
        }

        foreach (var tenant in tenants)
        {
            total += await SweepTenantAsync(tenant, cancellationToken).ConfigureAwait(false);
        }

        return total;
    }

    /// <summary>Sweeps one tenant: claims expired sessions batch by batch and deletes them.</summary>
    public async Task<SweepReport> SweepTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        var (days, _) = await GetPolicyAsync(tenant, cancellationToken).ConfigureAwait(false);
        var report = new SweepReport(0, 0, 0);
        var holdTags = options.HoldTags.ToList();
        while (true)
        {
            var now = Now();
            var cutoff = now - (days * MillisecondsPerDay);
            var claims = await catalog.ClaimExpiredAsync(tenant, cutoff, holdTags, NodeId, now, (long)options.ClaimLease.TotalMilliseconds, options.BatchSize, cancellationToken).ConfigureAwait(false);
            if (claims.Count == 0)
            {
                return report;
            }

            int deleted = 0, changed = 0, missing = 0;
            await Parallel.ForEachAsync(claims, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, async (claim, ct) =>
            {
                var outcome = await store.DeleteIfUnchangedAsync(claim.Tenant, new SessionKey(claim.ProjectKey, claim.SessionId), claim.Size, ct).ConfigureAwait(false);
                if (outcome == ConditionalDelete.Changed)
                {
                    await catalog.ReleaseClaimAsync(claim, NodeId, ct).ConfigureAwait(false);
                    Interlocked.Increment(ref changed);
                    return;
                }

                if (await catalog.CompleteDeletionAsync(claim, NodeId, Now(), ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref outcome == ConditionalDelete.Deleted ? ref deleted : ref missing);
                }
            }).ConfigureAwait(false);
            report += new SweepReport(deleted, changed, missing);
            Telemetry.SessionsTelemetry.Expirations.Add(deleted + missing);
            if (deleted + missing == 0 && changed == claims.Count)
            {
                // Everything claimed was written again meanwhile: stop rather than spin; the next sweep looks again.
                return report;
            }
        }
    }

    /// <summary>The tenant's deletion audit records, newest first.</summary>
    public Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return catalog.ListAuditAsync(tenant, Math.Clamp(limit, 1, 100_000), cancellationToken);
    }

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>What a sweep did.</summary>
/// <param name="Deleted">Sessions deleted.</param>
/// <param name="Changed">Claimed sessions left alone because they were written after the claim.</param>
/// <param name="Missing">Catalog rows removed whose transcript was already gone.</param>
public sealed record SweepReport(int Deleted, int Changed, int Missing)
{
    /// <summary>Adds two reports.</summary>
    public static SweepReport operator +(SweepReport a, SweepReport b) =>
        new(a.Deleted + b.Deleted, a.Changed + b.Changed, a.Missing + b.Missing);
}

/// <summary>A dry run of retention for one tenant.</summary>
/// <param name="CleanupPeriodDays">The tenant's period.</param>
/// <param name="Cutoff">Sessions last written before this (epoch ms) would be deleted.</param>
/// <param name="Sessions">Those sessions, oldest first.</param>
public sealed record RetentionPreview(int CleanupPeriodDays, long Cutoff, IReadOnlyList<SessionRecord> Sessions);
