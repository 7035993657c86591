namespace Sessions.Cluster.Server.Api;

/// <summary>Titles of the problem-details answers, by HTTP status, and the catalog of stable codes.</summary>
internal static class ApiErrors
{
    /// <summary>Every stable <c>code</c> a problem answer may carry, with its HTTP status (documented in the OpenAPI document).</summary>
    public static readonly IReadOnlyDictionary<string, int> Codes = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["bad_request"] = 400, ["invalid_parameter"] = 400, ["invalid_entry"] = 400, ["invalid_key"] = 400, ["invalid_json"] = 400,
        ["invalid_summary"] = 400, ["summary_on_subpath"] = 400, ["invalid_cursor"] = 400, ["invalid_limit"] = 400, ["invalid_paging"] = 400, ["invalid_query"] = 400,
        ["invalid_title"] = 400, ["invalid_tag"] = 400, ["invalid_idempotency_key"] = 400, ["invalid_cleanup_period"] = 400,
        ["invalid_limits"] = 400, ["invalid_scopes"] = 400, ["if_match_required"] = 400, ["nothing_to_fork"] = 400,
        ["unauthenticated"] = 401,
        ["forbidden"] = 403, ["no_tenant"] = 403,
        ["session_not_found"] = 404, ["message_not_found"] = 404, ["summary_not_found"] = 404, ["subagent_not_found"] = 404,
        ["hold_not_found"] = 404, ["not_in_trash"] = 404, ["key_not_found"] = 404, ["tenant_not_found"] = 404, ["route_not_found"] = 404, ["content_search_off"] = 404,
        ["append_position_conflict"] = 409, ["summary_version_conflict"] = 409, ["tenant_exists"] = 409,
        ["body_too_large"] = 413, ["entry_too_large"] = 413, ["sidecar_too_large"] = 413, ["quota_bytes_exceeded"] = 413,
        ["quota_sessions_exceeded"] = 429, ["rate_limited"] = 429, ["server_busy"] = 429,
        ["internal_error"] = 500, ["storage_unavailable"] = 503, ["cluster_unavailable"] = 503,
    };

    public static string TitleOf(int status) => status switch
    {
        400 => "Invalid request",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        429 => "Too many requests",
        500 => "Internal error",
        503 => "Service unavailable",
        _ => "Error",
    };
}
