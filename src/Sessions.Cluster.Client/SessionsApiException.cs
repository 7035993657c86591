namespace Sessions.Cluster.Client;

/// <summary>
/// The server answered with an error (a problem-details body); <see cref="Code"/> is its stable code. A subclass names
/// the kind of error the status says (<see cref="For"/>): not found, conflict, invalid request, not allowed, a limit,
/// unavailable; catch the base class for any.
/// </summary>
public class SessionsApiException(int status, string code, string message, long? limit = null) : Exception(message)
{
    /// <summary>The limit a 413/429 answer names (problem-details <c>limit</c>), when it names one.</summary>
    public long? Limit { get; } = limit;

    /// <summary>HTTP status of the answer.</summary>
    public int Status { get; } = status;

    /// <summary>Problem-details <c>code</c>, e.g. <c>session_not_found</c>.</summary>
    public string Code { get; } = code;

    /// <summary>The exception for an error answer, of the subclass its status names (the base class for any other).</summary>
    /// <param name="status">HTTP status.</param>
    /// <param name="code">Problem-details <c>code</c>.</param>
    /// <param name="message">The message.</param>
    /// <param name="limit">Problem-details <c>limit</c>, if any.</param>
    public static SessionsApiException For(int status, string code, string message, long? limit = null) => status switch
    {
        400 => new SessionsInvalidRequestException(status, code, message),
        401 or 403 => new SessionsForbiddenException(status, code, message),
        404 => new SessionsNotFoundException(status, code, message),
        409 or 412 => new SessionsConflictException(status, code, message),
        413 or 429 => new SessionsLimitException(status, code, message, limit),
        503 => new SessionsUnavailableException(status, code, message),
        _ => new SessionsApiException(status, code, message, limit),
    };
}

/// <summary>400: the request is not valid (codes such as <c>invalid_key</c>, <c>invalid_entry</c>, <c>invalid_json</c>).</summary>
public sealed class SessionsInvalidRequestException(int status, string code, string message) : SessionsApiException(status, code, message);

/// <summary>401 or 403: no key, a revoked key, or a key without the scope or tenant the call needs.</summary>
public sealed class SessionsForbiddenException(int status, string code, string message) : SessionsApiException(status, code, message);

/// <summary>404: no such session, message, subagent, tenant or route (codes such as <c>session_not_found</c>).</summary>
public sealed class SessionsNotFoundException(int status, string code, string message) : SessionsApiException(status, code, message);

/// <summary>409: another write came first (<c>append_position_conflict</c>, <c>summary_version_conflict</c>, <c>tenant_exists</c>).</summary>
public sealed class SessionsConflictException(int status, string code, string message) : SessionsApiException(status, code, message);

/// <summary>413 or 429: a size, quota or rate limit (<see cref="SessionsApiException.Limit"/> names it when the server does).</summary>
public sealed class SessionsLimitException(int status, string code, string message, long? limit) : SessionsApiException(status, code, message, limit);

/// <summary>503: the server's storage or cluster is unavailable for now (<c>storage_unavailable</c>, <c>cluster_unavailable</c>); retrying later may succeed.</summary>
public sealed class SessionsUnavailableException(int status, string code, string message) : SessionsApiException(status, code, message);
