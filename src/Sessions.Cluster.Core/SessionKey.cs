namespace Sessions.Cluster.Core;

/// <summary>
/// Identifies one transcript log: a session's main transcript (<see cref="Subpath"/> is null) or one of its
/// subpaths such as <c>subagents/agent-&lt;id&gt;</c>. Mirrors the SDK's <c>SessionKey</c>; keys are opaque
/// strings chosen by the caller (the SDK's own tests use <c>proj</c> and <c>sess</c>), validated only as safe
/// storage keys by <see cref="KeyRules"/>.
/// </summary>
/// <param name="ProjectKey">Caller-defined scope, by default the sanitized cwd (<c>[^a-zA-Z0-9]</c> → <c>-</c>).</param>
/// <param name="SessionId">Session identifier; UUIDs for sessions our native API creates.</param>
/// <param name="Subpath">Null for the main transcript; otherwise a <c>/</c>-separated relative path without extension.</param>
public sealed record SessionKey(string ProjectKey, string SessionId, string? Subpath = null)
{
    /// <summary>True when this key names the main transcript rather than a subpath.</summary>
    public bool IsMain => Subpath is null;

    /// <summary>The key of the session's main transcript.</summary>
    public SessionKey Main => Subpath is null ? this : this with { Subpath = null };

    /// <inheritdoc />
    public override string ToString() => Subpath is null ? $"{ProjectKey}/{SessionId}" : $"{ProjectKey}/{SessionId}/{Subpath}";
}
