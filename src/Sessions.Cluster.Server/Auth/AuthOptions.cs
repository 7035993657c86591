namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// API key settings (<c>Sessions:Auth</c>). With an <see cref="OperatorKey"/> every request needs a key: the operator
/// key manages tenants and their keys; tenant keys (issued through the API, stored hashed) act for their tenant with
/// their scopes. Without one the server is open (the tenant comes from <c>X-Sessions-Tenant</c>), which is allowed
/// only while it listens on loopback.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The operator's key (any string of at least 32 characters); null = no keys, loopback only.</summary>
    public string? OperatorKey { get; set; }

    /// <summary>
    /// How long a web console sign-in lasts from the moment it is made, whatever the browser does with its cookie
    /// (<c>Sessions:Auth:ConsoleSignInLifetime</c>); signing out ends it sooner.
    /// </summary>
    public TimeSpan ConsoleSignInLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>True when requests need keys.</summary>
    public bool KeysRequired => !string.IsNullOrEmpty(OperatorKey);
}
