namespace Sessions.Cluster.Core;

/// <summary>
/// Base of every error the session store raises on purpose. <see cref="Code"/> is a stable machine-readable code
/// that the HTTP API returns in its problem-details body; <see cref="IsTransient"/> says whether retrying may help.
/// </summary>
public abstract class SessionsException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected SessionsException(string code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>Stable error code, e.g. <c>session_not_found</c>.</summary>
    public string Code { get; }

    /// <summary>True when the same request may succeed later (storage unavailable); false for caller errors.</summary>
    public virtual bool IsTransient => false;
}

/// <summary>A key (tenant, project key, session id or subpath) is not a safe storage key.</summary>
public sealed class InvalidKeyException(string part, string reason)
    : SessionsException("invalid_key", $"Invalid {part}: {reason}.")
{
    /// <summary>Which part of the key was rejected: <c>tenant</c>, <c>projectKey</c>, <c>sessionId</c> or <c>subpath</c>.</summary>
    public string Part { get; } = part;

    /// <summary>Why it was rejected (the message without its "Invalid part:" prefix).</summary>
    public string Reason { get; } = reason;
}

/// <summary>An entry or request body is not acceptable (invalid JSON, not an object, too large, …).</summary>
public sealed class InvalidEntryException(string message, int? index = null)
    : SessionsException("invalid_entry", message)
{
    /// <summary>Zero-based index of the offending entry within its batch, when known.</summary>
    public int? Index { get; } = index;
}

/// <summary>A request argument is not acceptable (an empty title, a negative limit, an unknown cursor, …).</summary>
public sealed class InvalidRequestException(string code, string message) : SessionsException(code, message);

/// <summary>The session (or the message within it) does not exist for this tenant and project key.</summary>
public sealed class NotFoundException(string code, string message) : SessionsException(code, message);

/// <summary>
/// An optimistic-concurrency check failed: the transcript length or sidecar version the caller expected is not the
/// stored one. Carries both so the caller can re-read and retry.
/// </summary>
public sealed class ConflictException(string code, string message, string expected, string actual)
    : SessionsException(code, message)
{
    /// <summary>What the caller expected (a length in bytes or a version).</summary>
    public string Expected { get; } = expected;

    /// <summary>What is stored now.</summary>
    public string Actual { get; } = actual;

    /// <summary>
    /// The stored state itself, when the answer carries it so the caller's retry needs no read (a summary conflict's
    /// current sidecar, <c>{sessionId, mtime, data, version}</c>); null otherwise.
    /// </summary>
    public System.Text.Json.Nodes.JsonNode? Current { get; init; }
}

/// <summary>The storage backend cannot be reached or failed; the request may be retried.</summary>
public sealed class StorageUnavailableException(string message, Exception? inner = null)
    : SessionsException("storage_unavailable", message, inner)
{
    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The caller may not do this (a key without the scope, or the operator key on tenant data).</summary>
public sealed class ForbiddenException(string code, string message) : SessionsException(code, message);

/// <summary>
/// A quota or limit was reached. <see cref="Status"/> is 413 for sizes (an entry, the tenant's bytes) and 429 for
/// counts and rates; the limit travels in the problem-details body.
/// </summary>
public sealed class LimitExceededException(string code, string message, int status, long limit, long? used = null)
    : SessionsException(code, message)
{
    /// <summary>HTTP status: 413 or 429.</summary>
    public int Status { get; } = status;

    /// <summary>The limit that was reached.</summary>
    public long Limit { get; } = limit;

    /// <summary>What is used now, when known.</summary>
    public long? Used { get; } = used;
}

/// <summary>
/// The node could not reach the session's grain within its retry budget (a silo died and membership has not settled
/// yet); the request may be retried. Answered 503 with <c>Retry-After</c>.
/// </summary>
public sealed class ClusterUnavailableException(string message, Exception? inner = null)
    : SessionsException("cluster_unavailable", message, inner)
{
    /// <inheritdoc />
    public override bool IsTransient => true;
}
