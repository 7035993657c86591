using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Server.Api;

/// <summary>Tenant-wide endpoints: rebuilding the catalog, finding a session in any project, search, the project list.</summary>
internal static class AdminApi
{
    public static void MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/admin/reindex", async (HttpContext http, SessionService sessions, CancellationToken ct) =>
            TypedResults.Ok(new ReindexResult(await sessions.ReindexAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false))))
            .WithTags("Admin")
            .RequireAuthorization(Auth.SessionsClaims.AdminPolicy)
            .WithSummary("Rebuild the tenant's catalog rows from its transcripts.");

        routes.MapGet("/v1/sessions/{sessionId}", async (HttpContext http, string sessionId, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok((await queries.FindAsync(RequestContext.Tenant(http), sessionId, ct).ConfigureAwait(false)).Select(SessionInfoDto.From).ToList()))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Find a session id in every project key of the tenant (an empty list when unknown).");

        routes.MapGet("/v1/sessions", async (HttpContext http, string q, int? limit, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok(new SessionsApi.SessionList((await queries.SearchAsync(RequestContext.Tenant(http), q, limit ?? 50, ct).ConfigureAwait(false)).Select(SessionInfoDto.From).ToList(), null)))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Search every project of the tenant: title, summary, first prompt or tag containing q (case-insensitive), or an id starting with q; newest first.");

        routes.MapGet("/v1/projects", async (HttpContext http, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok(await queries.ListProjectsAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false)))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("The tenant's projects: project key, session count, last activity (epoch ms) and the cwd of the most recent session.");
    }
}

/// <summary>Answer of a reindex: catalog rows rebuilt.</summary>
internal sealed record ReindexResult(int Sessions);
