using Sessions.Cluster.Core;

namespace Sessions.Cluster.Grains;

/// <summary>
/// The key of a <see cref="ISessionGrain"/>: <c>tenant/projectKey/sessionId</c>. The three parts are validated safe keys
/// (<see cref="KeyRules"/>), none can hold <c>/</c>, so the key splits back without ambiguity.
/// </summary>
public static class SessionGrainKey
{
    /// <summary>Formats the key after validating its parts.</summary>
    /// <exception cref="InvalidKeyException">A part is not a safe key.</exception>
    public static string Format(string tenant, string projectKey, string sessionId)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        KeyRules.ValidateSessionId(sessionId);
        return $"{tenant}/{projectKey}/{sessionId}";
    }

    /// <summary>Splits a key made by <see cref="Format"/>.</summary>
    /// <exception cref="InvalidKeyException">The key does not have three parts.</exception>
    public static (string Tenant, string ProjectKey, string SessionId) Parse(string key)
    {
        var parts = key.Split('/');
        return parts.Length == 3 ? (parts[0], parts[1], parts[2]) : throw new InvalidKeyException("grain key", $"'{key}' is not tenant/projectKey/sessionId");
    }
}
