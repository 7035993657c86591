using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Retention's per-session steps through each session's grain (<see cref="ISessionGrain.Expire"/>,
/// <see cref="ISessionGrain.Purge"/>): the grain is the session's one writer, so the decision is ordered with its appends.
/// </summary>
public sealed class SessionGrainExpiry(IGrainFactory grains) : ISessionExpiry
{
    /// <inheritdoc />
    public Task<ExpireOutcome> ExpireAsync(string tenant, SessionRecord listed, long cutoff, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(listed);
        return Grain(tenant, listed.ProjectKey, listed.SessionId).Expire(cutoff, listed);
    }

    /// <inheritdoc />
    public Task<PurgeOutcome> PurgeAsync(string tenant, string projectKey, string sessionId, long trashedBefore, CancellationToken cancellationToken) =>
        Grain(tenant, projectKey, sessionId).Purge(trashedBefore);

    private ISessionGrain Grain(string tenant, string projectKey, string sessionId) =>
        grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, projectKey, sessionId));
}
