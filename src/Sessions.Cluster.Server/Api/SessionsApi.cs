using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Session operations whose answers equal the Claude Agent SDK's: list (cursor paging, tag and text filters),
/// create (optionally ephemeral), continue (latest), info, messages, context after compaction, fork, rename, tag,
/// subagents.
/// </summary>
internal static class SessionsApi
{
    public static void MapSessionsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/projects/{projectKey}/sessions").WithTags("Sessions").RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy);

        group.MapGet("", async (HttpContext http, string projectKey, int? limit, string? cursor, string? tag, string? q, SessionQueries queries, CancellationToken ct) =>
        {
            // Rows come rendered (as the client's SessionInfo): stored with the catalog's rows, or rendered for this page.
            var page = await queries.ListRenderedAsync(RequestContext.Tenant(http), projectKey, new SessionQuery(limit ?? 100, cursor, tag, q), ServerJsonContext.RenderRow, ct).ConfigureAwait(false);
            http.Response.ContentType = "application/json; charset=utf-8";
            await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
            writer.WriteStartObject();
            writer.WriteStartArray("sessions");
            foreach (var row in page.Items)
            {
                writer.WriteRawValue(row, skipInputValidation: true);
            }

            writer.WriteEndArray();
            if (page.NextCursor is not null)
            {
                writer.WriteString("nextCursor", page.NextCursor);
            }

            writer.WriteEndObject();
            await writer.FlushAsync(ct).ConfigureAwait(false);
        }).Produces<Client.SessionList>().WithSummary("List sessions newest first (the SDK's listSessions), with limit, cursor, tag and text (q) filters.");

        group.MapPost("", async (HttpContext http, string projectKey, SessionGrains grains, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<CreateRequest>(http.Request, ct).ConfigureAwait(false);
            var id = await grains.CreateAsync(RequestContext.Tenant(http), projectKey, body.Ephemeral, ct).ConfigureAwait(false);
            return TypedResults.Created($"/v1/projects/{Uri.EscapeDataString(projectKey)}/sessions/{Uri.EscapeDataString(id)}", new CreatedSession(id, body.Ephemeral));
        }).DocumentsJsonBody<CreateRequest>()
            .WithSummary("Create a session id (UUID); ephemeral sessions live in their grain's memory only and are never persisted.");

        group.MapGet("/latest", async (HttpContext http, string projectKey, SessionQueries queries, CancellationToken ct) =>
            TypedResults.Ok(WireContracts.Info(await queries.GetLatestAsync(RequestContext.Tenant(http), projectKey, ct).ConfigureAwait(false))))
            .WithSummary("Continue: the most recent non-sidechain session of the project.");

        group.MapGet("/{sessionId}", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
            TypedResults.Ok(WireContracts.Info(await grains.GetInfoAsync(RequestContext.Tenant(http), projectKey, sessionId, ct).ConfigureAwait(false))))
            .WithSummary("Session info (the SDK's getSessionInfo).");

        group.MapGet("/{sessionId}/messages", async (HttpContext http, string projectKey, string sessionId, int? limit, int? offset, bool? includeSystemMessages, string? subpath, SessionGrains grains, CancellationToken ct) =>
            Json(await grains.GetMessagesAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId, subpath), includeSystemMessages ?? false, offset ?? 0, limit, ct).ConfigureAwait(false)))
            .Produces<List<System.Text.Json.Nodes.JsonObject>>(StatusCodes.Status200OK, "application/json")
            .WithSummary("Messages of the live chain (the SDK's getSessionMessages), with limit and offset.");

        group.MapGet("/{sessionId}/context", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
            Json(await grains.GetContextAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId), ct).ConfigureAwait(false)))
            .Produces<List<System.Text.Json.Nodes.JsonObject>>(StatusCodes.Status200OK, "application/json")
            .WithSummary("Entries from the last compaction boundary on (the context a resumed agent sees); the full history stays.");

        group.MapPost("/{sessionId}/fork", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<ForkRequest>(http.Request, ct).ConfigureAwait(false);
            var id = await grains.ForkAsync(RequestContext.Tenant(http), projectKey, sessionId, body.UpToMessageId, body.Title, ct).ConfigureAwait(false);
            return TypedResults.Created($"/v1/projects/{Uri.EscapeDataString(projectKey)}/sessions/{Uri.EscapeDataString(id)}", new ForkResult(id));
        }).DocumentsJsonBody<ForkRequest>()
            .WithSummary("Fork (the SDK's forkSession), optionally up to a message (inclusive) and with a title.");

        group.MapPost("/{sessionId}/rename", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<RenameRequest>(http.Request, ct).ConfigureAwait(false);
            await grains.RenameAsync(RequestContext.Tenant(http), projectKey, sessionId, body.Title ?? "", ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).DocumentsJsonBody<RenameRequest>()
            .WithSummary("Rename (the SDK's renameSession): appends a custom-title entry.");

        group.MapPost("/{sessionId}/tag", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<TagRequest>(http.Request, ct).ConfigureAwait(false);
            await grains.TagAsync(RequestContext.Tenant(http), projectKey, sessionId, body.Tag, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).DocumentsJsonBody<TagRequest>()
            .WithSummary("Tag (the SDK's tagSession): appends a tag entry; {\"tag\": null} clears it.");

        group.MapGet("/{sessionId}/subagents", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
            TypedResults.Ok(await grains.ListSubagentsAsync(RequestContext.Tenant(http), projectKey, sessionId, ct).ConfigureAwait(false)))
            .WithSummary("Subagent ids of a session (the SDK's listSubagents).");

        MapSubagentMessages(group);
    }

    // A grain's answer is already the JSON the SDK writes: sent as it is.
    private static IResult Json(Grains.JsonAnswer answer) => TypedResults.Bytes(answer.Utf8, "application/json; charset=utf-8");

    private static void MapSubagentMessages(RouteGroupBuilder group) =>
        group.MapGet("/{sessionId}/subagents/{agentId}/messages", async (HttpContext http, string projectKey, string sessionId, string agentId, int? limit, int? offset, SessionGrains grains, CancellationToken ct) =>
            Json(await grains.GetSubagentMessagesAsync(RequestContext.Tenant(http), projectKey, sessionId, agentId, offset ?? 0, limit, ct).ConfigureAwait(false)))
            .Produces<List<System.Text.Json.Nodes.JsonObject>>(StatusCodes.Status200OK, "application/json")
            .WithSummary("Messages of one subagent (the SDK's getSubagentMessages).");

    /// <summary>Body of create.</summary>
    internal sealed class CreateRequest
    {
        public bool Ephemeral { get; set; }
    }

    /// <summary>Body of fork.</summary>
    internal sealed class ForkRequest
    {
        public string? UpToMessageId { get; set; }

        public string? Title { get; set; }
    }

    /// <summary>Body of rename.</summary>
    internal sealed class RenameRequest
    {
        public string? Title { get; set; }
    }

    /// <summary>Body of tag.</summary>
    internal sealed class TagRequest
    {
        public string? Tag { get; set; }
    }

    internal sealed record CreatedSession(string SessionId, bool Ephemeral);

    internal sealed record ForkResult(string SessionId);

}
