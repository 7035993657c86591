using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Tenants and keys. The operator (its configured key) creates tenants, sets their limits, erases them and issues
/// or revokes keys for any tenant under <c>/v1/tenants</c>; a tenant's admin key manages its own keys under
/// <c>/v1/keys</c>. A key's secret appears once, in the answer that issues it.
/// </summary>
internal static class TenantsApi
{
    public static void MapTenantsApi(this IEndpointRouteBuilder routes)
    {
        var tenants = routes.MapGroup("/v1/tenants").WithTags("Tenants").RequireAuthorization(SessionsClaims.OperatorPolicy);

        tenants.MapPost("", async (HttpContext http, TenantService service, CancellationToken ct) =>
        {
            var body = await RequestContext.ReadJsonAsync<TenantRequest>(http.Request, ct).ConfigureAwait(false);
            var record = await service.CreateAsync(body.Tenant ?? "", body.Limits, ct).ConfigureAwait(false);
            return TypedResults.Created($"/v1/tenants/{Uri.EscapeDataString(record.Tenant)}", record);
        }).DocumentsJsonBody<TenantRequest>()
            .WithSummary("Create a tenant, optionally with limits.");

        tenants.MapGet("", async (TenantService service, CancellationToken ct) => TypedResults.Ok(await service.ListAsync(ct).ConfigureAwait(false)))
            .WithSummary("List tenants.");

        tenants.MapGet("/{tenant}", async (string tenant, TenantService service, CancellationToken ct) =>
        {
            var (record, usage) = await service.GetAsync(tenant, ct).ConfigureAwait(false);
            return TypedResults.Ok(new TenantDetails(record.Tenant, record.CreatedAt, record.Limits, usage, await service.GetEffectiveLimitsAsync(tenant, ct).ConfigureAwait(false)));
        }).WithSummary("A tenant, its limits and what it uses.");

        tenants.MapPut("/{tenant}/limits", async (HttpContext http, string tenant, TenantService service, CancellationToken ct) =>
        {
            var limits = await RequestContext.ReadJsonAsync<LimitsRequest>(http.Request, ct).ConfigureAwait(false);
            await service.SetLimitsAsync(tenant, limits.ToLimits(), ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).DocumentsJsonBody<LimitsRequest>()
            .WithSummary("Replace a tenant's limits: maxSessions, maxBytes, maxEntryBytes, requestsPerMinute (null = server default).");

        tenants.MapDelete("/{tenant}", async (HttpContext http, string tenant, TenantService service, TenantGrainStates grainStates, CancellationToken ct) =>
        {
            // Grain states first: the catalog's notes that name them go with the tenant's rows.
            await grainStates.EraseAsync(tenant, ct).ConfigureAwait(false);
            var erased = await service.EraseAsync(tenant, RequestContext.Actor(http), ct).ConfigureAwait(false);
            await grainStates.ForgetActiveSessionsAsync(tenant, ct).ConfigureAwait(false);
            return TypedResults.Ok(new ErasureResult(erased));
        })
            .WithSummary("Right to erasure: delete the tenant everywhere (transcripts, subpaths, forks, catalog, sidecars, keys); each session is audited.");

        tenants.MapPost("/{tenant}/keys", async (HttpContext http, string tenant, TenantService service, CancellationToken ct) =>
            await IssueAsync(http, tenant, service, ct).ConfigureAwait(false))
            .DocumentsJsonBody<KeyRequest>()
            .WithSummary("Issue a key for the tenant (scopes read, write, admin); the key is shown only in this answer.");

        tenants.MapGet("/{tenant}/keys", async (string tenant, TenantService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListKeysAsync(tenant, ct).ConfigureAwait(false)).Select(KeyInfo.From)))
            .WithSummary("List the tenant's keys (never their secrets).");

        tenants.MapDelete("/{tenant}/keys/{keyId}", async (string tenant, string keyId, TenantService service, CancellationToken ct) =>
        {
            await service.RevokeKeyAsync(tenant, keyId, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Revoke a key at once, on every node.");

        var keys = routes.MapGroup("/v1/keys").WithTags("Tenants").RequireAuthorization(SessionsClaims.AdminPolicy);

        keys.MapPost("", async (HttpContext http, TenantService service, CancellationToken ct) =>
            await IssueAsync(http, RequestContext.Tenant(http), service, ct).ConfigureAwait(false))
            .DocumentsJsonBody<KeyRequest>()
            .WithSummary("Issue a key for the caller's tenant; shown only in this answer.");

        keys.MapGet("", async (HttpContext http, TenantService service, CancellationToken ct) =>
            TypedResults.Ok((await service.ListKeysAsync(RequestContext.Tenant(http), ct).ConfigureAwait(false)).Select(KeyInfo.From)))
            .WithSummary("List the caller's tenant's keys.");

        keys.MapDelete("/{keyId}", async (HttpContext http, string keyId, TenantService service, CancellationToken ct) =>
        {
            await service.RevokeKeyAsync(RequestContext.Tenant(http), keyId, ct).ConfigureAwait(false);
            return TypedResults.NoContent();
        }).WithSummary("Revoke one of the caller's tenant's keys.");
    }

    private static async Task<IResult> IssueAsync(HttpContext http, string tenant, TenantService service, CancellationToken ct)
    {
        var body = await RequestContext.ReadJsonAsync<KeyRequest>(http.Request, ct).ConfigureAwait(false);
        var (key, record) = await service.IssueKeyAsync(tenant, body.Scopes, body.Label, ct).ConfigureAwait(false);
        return TypedResults.Created($"/v1/tenants/{Uri.EscapeDataString(tenant)}/keys/{Uri.EscapeDataString(record.KeyId)}", new IssuedKey(key, record.KeyId, record.Tenant, record.Scopes, record.Label, record.CreatedAt));
    }

    /// <summary>Body of POST /v1/tenants.</summary>
    internal sealed class TenantRequest
    {
        public string? Tenant { get; set; }

        public TenantLimits? Limits { get; set; }
    }

    /// <summary>Body of PUT limits.</summary>
    internal sealed class LimitsRequest
    {
        public long? MaxSessions { get; set; }

        public long? MaxBytes { get; set; }

        public int? MaxEntryBytes { get; set; }

        public int? RequestsPerMinute { get; set; }

        public TenantLimits ToLimits() => new(MaxSessions, MaxBytes, MaxEntryBytes, RequestsPerMinute);
    }

    /// <summary>Body of POST keys.</summary>
    internal sealed class KeyRequest
    {
        public List<string>? Scopes { get; set; }

        public string? Label { get; set; }
    }

    /// <summary>A key as listed: no secret, no hash.</summary>
    internal sealed record KeyInfo(string KeyId, string Tenant, IReadOnlyList<string> Scopes, string Label, long CreatedAt, long? RevokedAt)
    {
        public static KeyInfo From(ApiKeyRecord r) => new(r.KeyId, r.Tenant, r.Scopes, r.Label, r.CreatedAt, r.RevokedAt);
    }
}

/// <summary>A tenant, its own limits (null = the defaults), what it uses and the limits in effect.</summary>
internal sealed record TenantDetails(string Tenant, long CreatedAt, Core.Tenants.TenantLimits Limits, Core.Tenants.TenantUsage Usage, Core.Tenants.TenantLimits EffectiveLimits);

/// <summary>Answer of a tenant erasure: sessions erased (each audited).</summary>
internal sealed record ErasureResult(int ErasedSessions);

/// <summary>A newly issued key: the key itself (shown only here) and its record.</summary>
internal sealed record IssuedKey(string Key, string KeyId, string Tenant, IReadOnlyList<string> Scopes, string Label, long CreatedAt);
