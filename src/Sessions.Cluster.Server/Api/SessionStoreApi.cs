using System.Text.Json;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// The SDK's <c>SessionStore</c> primitives over HTTP (what the TypeScript adapter and the .NET client call):
/// append, load, listSessions, listSessionSummaries (with a CAS-guarded sidecar), delete, listSubkeys.
/// </summary>
internal static class SessionStoreApi
{
    /// <summary>The request header naming an append call, so its retries write nothing.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void MapSessionStoreApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/projects/{projectKey}").WithTags("SessionStore").RequireAuthorization(Auth.SessionsClaims.ReadOrWritePolicy);

        group.MapPost("/sessions/{sessionId}/entries", async (HttpContext http, string projectKey, string sessionId, string? subpath, long? expectedLength, long? lastActivity, SessionGrains grains, CancellationToken ct) =>
        {
            var key = new SessionKey(projectKey, sessionId, subpath);
            var limits = grains.Sessions.Limits;
            var body = await RequestContext.ReadBodyAsync(http.Request, limits, ct).ConfigureAwait(false);
            var (lines, summary) = EntryParser.ParseAppend(body, limits);
            var options = new AppendOptions(IdempotencyKeyOf(http.Request), lastActivity is > 0 ? lastActivity : null, summary);
            var result = await grains.AppendAsync(RequestContext.Tenant(http), key, lines, expectedLength, options, ct).ConfigureAwait(false);
            return TypedResults.Ok(WireContracts.Append(result));
        }).DocumentsJsonBody<List<System.Text.Json.Nodes.JsonObject>>()
            .WithSummary("Append entries (SessionStore.append): in order, deduplicated by uuid, optionally fenced by expectedLength.")
        .WithDescription("The body is a JSON array of entries, or {\"entries\": [...], \"summary\": {\"version\": n, \"data\": {...}}}: the entries plus " +
            "the caller's fold (the SDK's foldSessionSummary) of the summary sidecar at version n (0: none), stored after the entries " +
            "with the append's mtime if the sidecar is still at n. The answer's summary says {stored: true, version} or, on a conflict, " +
            "{stored: false, version, current: {sessionId, mtime, data, version}} (the entries are stored either way). " +
            "An entry without a uuid is appended unless the batch repeats it in place (a retried or replayed batch). " +
            "A retry carrying the first call's Idempotency-Key header (kept one hour) writes nothing and answers as the first call did. " +
            "lastActivity (Unix epoch ms, imports) keeps an imported file's last activity when it is earlier than now.");

        group.MapGet("/sessions/{sessionId}/entries", async (HttpContext http, string projectKey, string sessionId, string? subpath, SessionGrains grains, CancellationToken ct) =>
        {
            var opened = await grains.OpenTranscriptAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId, subpath), ct).ConfigureAwait(false)
                ?? throw new NotFoundException("session_not_found", $"Nothing was ever written at '{projectKey}/{sessionId}'{(subpath is null ? "" : "/" + subpath)}.");
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = JsonlAsArray.LengthOf(opened.Length);
            await using var content = opened.Content;
            await JsonlAsArray.CopyAsync(content, http.Response.BodyWriter, opened.Length, ct).ConfigureAwait(false);
            return Results.Empty;
        }).WithSummary("Load entries (SessionStore.load) as a JSON array, streamed; 404 for a key never written.");

        group.MapGet("/sessions/{sessionId}/transcript", async (HttpContext http, string projectKey, string sessionId, string? subpath, SessionGrains grains, CancellationToken ct) =>
        {
            var opened = await grains.OpenTranscriptAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId, subpath), ct).ConfigureAwait(false)
                ?? throw new NotFoundException("session_not_found", $"Session '{sessionId}' was not found in project '{projectKey}'.");
            return Results.Stream(opened.Content, "application/x-ndjson");
        }).WithSummary("The raw transcript as JSONL, streamed byte for byte.");

        group.MapGet("/store/sessions", async (HttpContext http, string projectKey, SessionQueries queries, CancellationToken ct) =>
        {
            var list = new List<StoreSession>();
            await foreach (var (sessionId, mtime) in queries.ListSessionMtimesAsync(RequestContext.Tenant(http), projectKey, ct).ConfigureAwait(false))
            {
                list.Add(new StoreSession(sessionId, mtime));
            }

            return TypedResults.Ok(list);
        }).WithSummary("SessionStore.listSessions: sessionId and mtime (epoch ms) of main transcripts.");

        group.MapGet("/store/summaries", async (HttpContext http, string projectKey, SessionQueries queries, CancellationToken ct) =>
        {
            // Validate (and fail) before the first byte of the answer is written.
            var summaries = queries.ListSummariesAsync(RequestContext.Tenant(http), projectKey, ct);
            http.Response.ContentType = "application/json";
            await using var writer = new Utf8JsonWriter(http.Response.Body);
            writer.WriteStartArray();
            await foreach (var s in summaries.ConfigureAwait(false))
            {
                WriteSummary(writer, s, includeVersion: false);
            }

            writer.WriteEndArray();
            await writer.FlushAsync(ct).ConfigureAwait(false);
            return Results.Empty;
        }).WithSummary("SessionStore.listSessionSummaries: the opaque sidecars, verbatim.");

        group.MapGet("/sessions/{sessionId}/summary", async (HttpContext http, string projectKey, string sessionId, SessionService sessions, CancellationToken ct) =>
        {
            var s = await sessions.GetSummaryAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId), ct).ConfigureAwait(false)
                ?? throw new NotFoundException("summary_not_found", $"Session '{sessionId}' has no summary sidecar.");
            http.Response.ContentType = "application/json";
            http.Response.Headers.ETag = $"\"{s.Version}\"";
            await using var writer = new Utf8JsonWriter(http.Response.Body);
            WriteSummary(writer, s, includeVersion: true);
            await writer.FlushAsync(ct).ConfigureAwait(false);
            return Results.Empty;
        }).WithSummary("One summary sidecar with its version (also in ETag).");

        group.MapPut("/sessions/{sessionId}/summary", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            var expected = ParseIfMatch(http.Request.Headers.IfMatch.ToString());
            ReadOnlyMemory<byte> body;
            try
            {
                body = await RequestContext.ReadBodyAsync(http.Request, grains.Sessions.Limits, ct, EntryLimits.MaxSidecarBytes).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw new LimitExceededException("sidecar_too_large", $"A summary sidecar may hold at most {EntryLimits.MaxSidecarBytes} bytes: {e.Message}", StatusCodes.Status413PayloadTooLarge, EntryLimits.MaxSidecarBytes, http.Request.ContentLength);
            }

            var (mtime, data) = ParseSummaryBody(body);
            var tenant = RequestContext.Tenant(http);
            long version;
            try
            {
                version = await grains.PutSummaryAsync(tenant, new SessionKey(projectKey, sessionId), data, mtime, expected, ct).ConfigureAwait(false);
            }
            catch (ConflictException e) when (e.Code == "summary_version_conflict")
            {
                // The answer carries the current sidecar, so the caller's next fold needs no read.
                var current = await grains.Sessions.GetSummaryAsync(tenant, new SessionKey(projectKey, sessionId), ct).ConfigureAwait(false);
                throw new ConflictException(e.Code, e.Message, e.Expected, e.Actual) { Current = current is null ? null : WireContracts.SummaryNode(current) };
            }

            http.Response.Headers.ETag = $"\"{version}\"";
            return TypedResults.Ok(new SummaryVersion(version));
        }).DocumentsJsonBody<SummaryBody>()
            .WithSummary("Compare-and-swap a summary sidecar: If-Match: \"<version>\" (\"0\" = create). 409 when another writer was first, with the current sidecar in the problem's 'current'.");

        group.MapDelete("/sessions/{sessionId}", async (HttpContext http, string projectKey, string sessionId, string? subpath, SessionGrains grains, CancellationToken ct) =>
        {
            var removed = await grains.DeleteAsync(RequestContext.Tenant(http), new SessionKey(projectKey, sessionId, subpath), RequestContext.Actor(http), ct).ConfigureAwait(false);
            return removed ? Results.NoContent() : throw new NotFoundException("session_not_found", $"Session '{sessionId}' was not found in project '{projectKey}'.");
        }).WithSummary("Delete a session (cascades to subpaths, catalog row and sidecar) or one subpath.");

        group.MapGet("/sessions/{sessionId}/subkeys", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
            TypedResults.Ok(await grains.ListSubkeysAsync(RequestContext.Tenant(http), projectKey, sessionId, ct).ConfigureAwait(false)))
            .WithSummary("SessionStore.listSubkeys: subpaths of a session.");
    }

    private static long ParseIfMatch(string value)
    {
        var v = value.Trim().Trim('"');
        if (v.Length == 0 || !long.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidRequestException("if_match_required", "PUT of a summary needs If-Match: \"<version>\" (\"0\" to create it).");
        }

        return version;
    }

    private static (long Mtime, string Data) ParseSummaryBody(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = EntryLimits.MaxDepth + 1 }); // data nests as deep as an entry
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("mtime", out var m) && m.ValueKind == JsonValueKind.Number && m.TryGetInt64(out var mtime) &&
                doc.RootElement.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.Object)
            {
                return (mtime, d.GetRawText());
            }
        }
        catch (JsonException)
        {
        }

        throw new InvalidRequestException("invalid_summary", "The body must be {\"mtime\": <integer epoch ms>, \"data\": {…}}.");
    }

    private static void WriteSummary(Utf8JsonWriter writer, SummaryRecord s, bool includeVersion)
    {
        writer.WriteStartObject();
        writer.WriteString("sessionId", s.SessionId);
        writer.WriteNumber("mtime", s.Mtime);
        writer.WritePropertyName("data");
        writer.WriteRawValue(s.DataJson, skipInputValidation: true);
        if (includeVersion)
        {
            writer.WriteNumber("version", s.Version);
        }

        writer.WriteEndObject();
    }

    /// <summary>One row of SessionStore.listSessions.</summary>
    internal sealed record StoreSession(string SessionId, long Mtime);

    private static string? IdempotencyKeyOf(HttpRequest request)
    {
        var value = request.Headers[IdempotencyKeyHeader].ToString();
        if (value.Length == 0)
        {
            return null;
        }

        if (value.Length > IdempotencyKeys.MaxKeyLength || value.Any(char.IsControl))
        {
            throw new InvalidRequestException("invalid_idempotency_key", $"The {IdempotencyKeyHeader} header must be 1 to {IdempotencyKeys.MaxKeyLength} printable characters.");
        }

        return value;
    }
}

/// <summary>Body of <c>PUT …/summary</c>: the SDK's <c>SessionSummaryEntry</c> mtime (epoch ms) and opaque data.</summary>
internal sealed record SummaryBody(long Mtime, System.Text.Json.Nodes.JsonObject Data);

/// <summary>Answer of a sidecar write: its new CAS version (also the ETag).</summary>
internal sealed record SummaryVersion(long Version);
