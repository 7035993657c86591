namespace Sessions.Cluster.Client;

/// <summary>How to reach a Sessions.Cluster server.</summary>
public sealed class SessionsClientOptions
{
    /// <summary>Default server URL (the embedded server's default address).</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>Environment variable that overrides <see cref="Url"/>.</summary>
    public const string UrlVariable = "SESSIONS_URL";

    /// <summary>Environment variable that sets <see cref="ApiKey"/>.</summary>
    public const string ApiKeyVariable = "SESSIONS_API_KEY";

    /// <summary>Environment variable that sets <see cref="Tenant"/>.</summary>
    public const string TenantVariable = "SESSIONS_TENANT";

    /// <summary>Server base URL.</summary>
    public Uri Url { get; set; } = new(DefaultUrl);

    /// <summary>API key, sent as <c>Authorization: Bearer &lt;key&gt;</c>; null sends none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Tenant, sent as <c>X-Sessions-Tenant</c>; null lets the server choose.</summary>
    public string? Tenant { get; set; }

    /// <summary>Per-request timeout.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);
}
