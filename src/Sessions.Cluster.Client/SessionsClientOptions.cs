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

    /// <summary>Per-request timeout (registered through <c>AddSessionsClient</c>: per attempt).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// Registered through <c>AddSessionsClient</c>: how many times a request that is safe to repeat is retried after a
    /// transient failure (1–10; 3, the standard pipeline's).
    /// </summary>
    public int Retries { get; set; } = 3;

    /// <summary>
    /// Registered through <c>AddSessionsClient</c>: the first retry's delay, doubled for each later one with jitter; a
    /// <c>Retry-After</c> the server sends is waited out instead (2 s, the standard pipeline's).
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);
}
