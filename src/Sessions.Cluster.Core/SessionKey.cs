using System.Diagnostics.CodeAnalysis;

namespace Sessions.Cluster.Core;

/// <summary>
/// Identifies one transcript log: a session's main transcript (<see cref="Subpath"/> is null) or one of its
/// subpaths such as <c>subagents/agent-&lt;id&gt;</c>. Mirrors the SDK's <c>SessionKey</c>; keys are opaque
/// strings chosen by the caller (the SDK's own tests use <c>proj</c> and <c>sess</c>), never required to be UUIDs.
/// </summary>
/// <remarks>
/// A validated key: every way to make one (the constructor, <c>with</c>) checks each part against
/// <see cref="KeyRules"/>, so a key is validated once, where it enters (an endpoint's route values, a CLI argument, a
/// file name listed from storage through <see cref="TryCreate"/>), and every layer below takes it as safe.
/// </remarks>
public sealed record SessionKey
{
    private readonly string _projectKey = "";
    private readonly string _sessionId = "";
    private readonly string? _subpath;

    /// <summary>Makes a key after checking each part.</summary>
    /// <param name="projectKey">Caller-defined scope, by default the sanitized cwd (<c>[^a-zA-Z0-9]</c> → <c>-</c>).</param>
    /// <param name="sessionId">Session identifier; UUIDs for sessions our native API creates.</param>
    /// <param name="subpath">Null for the main transcript; otherwise a <c>/</c>-separated relative path without extension.</param>
    /// <exception cref="InvalidKeyException">A part is empty, too long, or holds a forbidden character or segment.</exception>
    public SessionKey(string projectKey, string sessionId, string? subpath = null)
    {
        ProjectKey = projectKey;
        SessionId = sessionId;
        Subpath = subpath;
    }

    /// <summary>Caller-defined scope (a safe key, at most <see cref="KeyRules.MaxProjectKeyLength"/> characters).</summary>
    /// <exception cref="InvalidKeyException">Set to an unsafe value.</exception>
    public string ProjectKey
    {
        get => _projectKey;
        init
        {
            KeyRules.ValidateProjectKey(value);
            _projectKey = value;
        }
    }

    /// <summary>Session identifier (a safe key, at most <see cref="KeyRules.MaxSessionIdLength"/> characters).</summary>
    /// <exception cref="InvalidKeyException">Set to an unsafe value.</exception>
    public string SessionId
    {
        get => _sessionId;
        init
        {
            KeyRules.ValidateSessionId(value);
            _sessionId = value;
        }
    }

    /// <summary>Null for the main transcript; otherwise a safe <c>/</c>-separated relative path without extension.</summary>
    /// <exception cref="InvalidKeyException">Set to an unsafe value.</exception>
    public string? Subpath
    {
        get => _subpath;
        init
        {
            if (value is not null)
            {
                KeyRules.ValidateSubpath(value);
            }

            _subpath = value;
        }
    }

    /// <summary>True when this key names the main transcript rather than a subpath.</summary>
    public bool IsMain => Subpath is null;

    /// <summary>The key of the session's main transcript.</summary>
    public SessionKey Main => Subpath is null ? this : this with { Subpath = null };

    /// <summary>Makes a key from parts that may be unsafe (names listed from storage): false instead of an exception.</summary>
    public static bool TryCreate(string projectKey, string sessionId, [NotNullWhen(true)] out SessionKey? key)
    {
        try
        {
            key = new SessionKey(projectKey, sessionId);
            return true;
        }
        catch (InvalidKeyException)
        {
            key = null;
            return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Subpath is null ? $"{ProjectKey}/{SessionId}" : $"{ProjectKey}/{SessionId}/{Subpath}";
}
