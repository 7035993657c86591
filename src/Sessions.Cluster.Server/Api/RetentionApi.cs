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
            return TypedResults.Ok(new RetentionPreviewDto(preview.CleanupPeriodDays, preview.Cutoff, preview.Sessions.Select(SessionInfoDto.From).ToList()));
        }).WithSummary("Dry run: the sessions a sweep would delete now, oldest first.");

        admin.MapPost("/sweep", async (HttpContext http, RetentionService retention, CancellationToken ct) =>
            TypedResults.Ok(await retention.SweepTenantAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false)))
            .WithSummary("Runs a sweep of the tenant now (the sweeper also runs on every node each period).");

        admin.MapGet("/audit", async (HttpContext http, int? limit, RetentionService retention, CancellationToken ct) =>
            TypedResults.Ok(await retention.ListAuditAsync(RequestContext.Tenant(http), limit ?? 100, ct).ConfigureAwait(false)))
            .WithSummary("The tenant's deletion audit records, newest first.");

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

/// <summary>Dry run of a sweep: the policy, the cut-off (epoch ms) and the sessions that would go, oldest first.</summary>
internal sealed record RetentionPreviewDto(int CleanupPeriodDays, long Cutoff, List<SessionInfoDto> Sessions);
