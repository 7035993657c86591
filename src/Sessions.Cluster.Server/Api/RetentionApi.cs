using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Server.Api;

/// <summary>Retention of the caller's tenant: policy, dry run, sweep on demand, audit, and holds on sessions.</summary>
internal static class RetentionApi
{
    public static void MapRetentionApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/v1/admin/retention").WithTags("Retention").RequireAuthorization(Auth.SessionsClaims.AdminPolicy);

        admin.MapGet("", async (HttpContext http, RetentionService retention, CancellationToken ct) =>
        {
            var (days, isDefault) = await retention.GetPolicyAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false);
            return TypedResults.Ok(new RetentionPolicy(days, isDefault));
        }).WithSummary("The tenant's cleanupPeriodDays (its own, or the default).");

        admin.MapPut("", async (HttpContext http, RetentionService retention, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<PolicyRequest>(http.Request, ct).ConfigureAwait(false);
            await retention.SetPolicyAsync(RequestContext.Tenant(http), body.CleanupPeriodDays ?? 0, ct).ConfigureAwait(false);
            return TypedResults.Ok(new RetentionPolicy(body.CleanupPeriodDays ?? 0, false));
        }).DocumentsJsonBody<PolicyRequest>()
            .WithSummary("Sets the tenant's cleanupPeriodDays (1..36500), measured from each session's last write.");

        admin.MapGet("/preview", async (HttpContext http, int? limit, RetentionService retention, CancellationToken ct) =>
        {
            var preview = await retention.PreviewAsync(RequestContext.Tenant(http), limit ?? 1000, ct).ConfigureAwait(false);
            return TypedResults.Ok(new RetentionPreviewDto(preview.CleanupPeriodDays, preview.Cutoff, preview.Sessions.Select(WireContracts.Info).ToList()));
        }).WithSummary("Dry run: the sessions a sweep would delete now, oldest first.");

        admin.MapPost("/sweep", async (HttpContext http, SessionGrains grains, CancellationToken ct) =>
            TypedResults.Ok(await grains.SweepAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false)))
            .WithSummary("Sweeps the tenant now: expired sessions go to the trash, trash past its grace period is purged (the tenant's reminder also does this each period).");

        admin.MapGet("/audit", async (HttpContext http, int? limit, RetentionService retention, CancellationToken ct) =>
            TypedResults.Ok(await retention.ListAuditAsync(RequestContext.Tenant(http), limit ?? 100, ct).ConfigureAwait(false)))
            .WithSummary("The tenant's retention and erasure audit records (retention, restore, purge, erasure), newest first.");

        var trash = routes.MapGroup("/v1/trash").WithTags("Retention").RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy);

        trash.MapGet("", async (HttpContext http, int? limit, RetentionService retention, CancellationToken ct) =>
        {
            var page = await retention.ListTrashAsync(RequestContext.Tenant(http), limit ?? 1000, ct).ConfigureAwait(false);
            return TypedResults.Ok(new TrashDto(page.GraceDays, page.Sessions.Select(t => TrashedSessionDto.From(t, page.GraceDays)).ToList()));
        }).WithSummary("The tenant's trash, oldest first: sessions expired by retention, restorable until their grace period ends.");

        trash.MapPost("/{projectKey}/{sessionId}/restore", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            await grains.RestoreAsync(RequestContext.Tenant(http), projectKey, sessionId, RequestContext.Actor(http), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Brings a session back from the trash exactly as it was; its retention period starts again from now.");

        var hold = routes.MapGroup("/v1/projects/{projectKey}/sessions/{sessionId}/hold").WithTags("Retention").RequireAuthorization(Auth.SessionsClaims.AdminPolicy);

        hold.MapPut("", async (HttpContext http, string projectKey, string sessionId, RetentionService retention, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<HoldRequest>(http.Request, ct).ConfigureAwait(false);
            await retention.HoldAsync(RequestContext.Tenant(http), projectKey, sessionId, body.Reason, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).DocumentsJsonBody<HoldRequest>()
            .WithSummary("Places a hold (e.g. legal hold): retention never deletes the session until it is released.");

        hold.MapDelete("", async (HttpContext http, string projectKey, string sessionId, RetentionService retention, CancellationToken ct) =>
        {
            await retention.ReleaseHoldAsync(RequestContext.Tenant(http), projectKey, sessionId, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Releases a hold.");
    }

    internal sealed record RetentionPolicy(int CleanupPeriodDays, bool IsDefault);

    /// <summary>Body of PUT retention.</summary>
    internal sealed class PolicyRequest
    {
        public int? CleanupPeriodDays { get; set; }
    }

    /// <summary>Body of PUT hold.</summary>
    internal sealed class HoldRequest
    {
        public string? Reason { get; set; }
    }
}

/// <summary>The tenant's trash: the grace period (days) and the entries, oldest first.</summary>
internal sealed record TrashDto(int GraceDays, List<TrashedSessionDto> Sessions);

/// <summary>One trashed session: ids, title, last activity, size, when it went to the trash and when it will be purged (epoch ms).</summary>
internal sealed record TrashedSessionDto(string ProjectKey, string SessionId, string? Title, long LastModified, long Size, long TrashedAt, long PurgeAfter)
{
    public static TrashedSessionDto From(Core.Storage.TrashedSession t, int graceDays) =>
        new(t.ProjectKey, t.SessionId, t.Title, t.LastWrite, t.Size, t.TrashedAt, t.TrashedAt + (graceDays * 86_400_000L));
}

/// <summary>Dry run of a sweep: the policy, the cut-off (epoch ms) and the sessions that would go, oldest first.</summary>
internal sealed record RetentionPreviewDto(int CleanupPeriodDays, long Cutoff, List<Client.SessionInfo> Sessions);
