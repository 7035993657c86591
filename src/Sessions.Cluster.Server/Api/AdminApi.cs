using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Server.Api;

/// <summary>Operator endpoints: rebuilding the catalog from the transcripts.</summary>
internal static class AdminApi
{
    public static void MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/admin/reindex", async (HttpContext http, SessionService sessions, CancellationToken ct) =>
            TypedResults.Ok(new { sessions = await sessions.ReindexAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false) }))
            .WithTags("Admin")
            .RequireAuthorization(Auth.SessionsClaims.AdminPolicy)
            .WithSummary("Rebuild the tenant's catalog rows from its transcripts.");

        routes.MapGet("/v1/sessions/{sessionId}", async (HttpContext http, string sessionId, SessionService sessions, CancellationToken ct) =>
            TypedResults.Ok((await sessions.FindAsync(RequestContext.Tenant(http), sessionId, ct).ConfigureAwait(false)).Select(SessionInfoDto.From).ToList()))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Find a session id in every project key of the tenant (an empty list when unknown).");
    }
}
