namespace Sessions.Cluster.Core;

/// <summary>
/// Validation of tenant names, project keys, session ids and subpaths as safe storage keys (DESIGN.md §4).
/// Keys become folder and file names (and blob names), so each segment must not be able to escape its parent:
/// no <c>/</c>, <c>\</c>, <c>..</c>, NUL or other control characters, no <c>%</c> (so no percent-encoded slash
/// can be smuggled through a URL), and a bounded length. Keys are never required to be UUIDs. A
/// <see cref="SessionKey"/> checks its parts with these rules when it is made.
/// </summary>
public static class KeyRules
{
    /// <summary>Longest project key in UTF-16 code units. The SDK caps its keys at 200 characters plus a hash suffix.</summary>
    public const int MaxProjectKeyLength = 240;

    /// <summary>Longest session id in UTF-16 code units (it becomes <c>&lt;id&gt;.jsonl</c>, under the 255-byte file name limit).</summary>
    public const int MaxSessionIdLength = 200;

    /// <summary>Longest subpath in UTF-16 code units.</summary>
    public const int MaxSubpathLength = 512;

    /// <summary>Most segments a subpath may have.</summary>
    public const int MaxSubpathSegments = 8;

    /// <summary>Validates a tenant name: the same rules as a project key segment, at most 64 characters.</summary>
    /// <exception cref="InvalidKeyException">The tenant name is not a safe key.</exception>
    public static void ValidateTenant(string tenant) => ValidateSegment("tenant", tenant, 64);

    /// <summary>Validates a session id alone (a lookup by id in any project).</summary>
    /// <exception cref="InvalidKeyException">The session id is not a safe key.</exception>
    public static void ValidateSessionId(string sessionId) => ValidateSegment("sessionId", sessionId, MaxSessionIdLength);

    /// <summary>Validates a project key alone (for listings).</summary>
    /// <exception cref="InvalidKeyException">The project key is not a safe key.</exception>
    public static void ValidateProjectKey(string projectKey) => ValidateSegment("projectKey", projectKey, MaxProjectKeyLength);

    /// <summary>Validates a subpath: <c>/</c>-separated safe segments, never absolute, never empty segments.</summary>
    /// <exception cref="InvalidKeyException">The subpath would escape its session or is otherwise unsafe.</exception>
    public static void ValidateSubpath(string subpath)
    {
        if (subpath.Length == 0)
        {
            throw new InvalidKeyException("subpath", "must not be empty; omit it for the main transcript");
        }

        if (subpath.Length > MaxSubpathLength)
        {
            throw new InvalidKeyException("subpath", $"is longer than {MaxSubpathLength} characters");
        }

        var segments = subpath.Split('/');
        if (segments.Length > MaxSubpathSegments)
        {
            throw new InvalidKeyException("subpath", $"has more than {MaxSubpathSegments} segments");
        }

        foreach (var segment in segments)
        {
            ValidateSegment("subpath", segment, MaxSessionIdLength);
        }
    }

    private static void ValidateSegment(string name, string? value, int maxLength)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new InvalidKeyException(name, "must not be empty");
        }

        if (value.Length > maxLength)
        {
            throw new InvalidKeyException(name, $"is longer than {maxLength} characters");
        }

        if (value is "." or ".." || value.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidKeyException(name, "must not contain '..' or be '.'");
        }

        foreach (var c in value)
        {
            if (c is '/' or '\\' or '%' or ':' or '*' or '?' or '"' or '<' or '>' or '|' || char.IsControl(c) || char.IsSurrogate(c))
            {
                throw new InvalidKeyException(name, $"contains the forbidden character U+{(int)c:X4}");
            }
        }

        if (value[^1] is '.' or ' ' || value[0] == ' ')
        {
            throw new InvalidKeyException(name, "must not start with a space or end with '.' or a space");
        }
    }
}
