using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Server.Api;

/// <summary>Tenant-wide endpoints: rebuilding the catalog, finding a session in any project, title and content search, the project list.</summary>
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
            TypedResults.Ok((await queries.FindAsync(RequestContext.Tenant(http), sessionId, ct).ConfigureAwait(false)).Select(WireContracts.Info).ToList()))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Find a session id in every project key of the tenant (an empty list when unknown).");

        routes.MapGet("/v1/sessions", async (HttpContext http, string q, int? limit, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok(new Client.SessionList((await queries.SearchAsync(RequestContext.Tenant(http), q, limit ?? 50, ct).ConfigureAwait(false)).Select(WireContracts.Info).ToList(), null)))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Search every project of the tenant: title, summary, first prompt or tag containing q (case-insensitive), or an id starting with q; newest first.");

        routes.MapGet("/v1/search", async (HttpContext http, string q, string? project, int? limit, string? cursor, SessionQueries queries, CancellationToken ct) =>
        {
            var (hits, next) = await queries.SearchContentAsync(RequestContext.Tenant(http), q, project, limit ?? 20, cursor, ct).ConfigureAwait(false);
            return TypedResults.Ok(new Client.SearchResults([.. hits.Select(WireContracts.Found)], next));
        })
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("Search what was said: sessions ranked by how well their messages match q, each with its best matching messages.")
            .WithDescription("q: words (all must match, case ignored), \"a phrase\", -excluded, a OR b; 1 to 200 characters. Indexed: user and " +
                "assistant text, tool names and inputs, tool results, compaction summaries of main transcripts (not subagents, thinking or images). " +
                "Each hit: the session's info and up to 3 messages {uuid, role, timestamp (epoch ms), snippet}, matched words as **word**. " +
                "project narrows to one project key; limit 1-100 (20); cursor from nextCursor. Trashed sessions are not found.");

        routes.MapGet("/v1/projects", async (HttpContext http, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok(await queries.ListProjectsAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false)))
            .WithTags("Sessions")
            .RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy)
            .WithSummary("The tenant's projects: project key, session count, last activity (epoch ms) and the cwd of the most recent session.");
    }
}

/// <summary>Answer of a reindex: catalog rows rebuilt.</summary>
internal sealed record ReindexResult(int Sessions);
