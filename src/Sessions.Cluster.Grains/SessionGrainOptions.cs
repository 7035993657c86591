namespace Sessions.Cluster.Grains;

/// <summary>Settings of the session grains (configuration: <c>Sessions:EphemeralIdle</c>).</summary>
public sealed class SessionGrainOptions
{
    /// <summary>
    /// How long an ephemeral session lives without being used; then its grain deactivates and the session is gone
    /// (404), as it is when its silo is lost. Default one hour.
    /// </summary>
    public TimeSpan EphemeralIdle { get; set; } = TimeSpan.FromHours(1);
}
