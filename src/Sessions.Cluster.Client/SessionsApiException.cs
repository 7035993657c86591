namespace Sessions.Cluster.Client;

/// <summary>The server answered with an error (a problem-details body); <see cref="Code"/> is its stable code.</summary>
public sealed class SessionsApiException(int status, string code, string message, long? limit = null) : Exception(message)
{
    /// <summary>The limit a 413/429 answer names (problem-details <c>limit</c>), when it names one.</summary>
    public long? Limit { get; } = limit;

    /// <summary>HTTP status of the answer.</summary>
    public int Status { get; } = status;

    /// <summary>Problem-details <c>code</c>, e.g. <c>session_not_found</c>.</summary>
    public string Code { get; } = code;
}
