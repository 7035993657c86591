using Microsoft.Extensions.Diagnostics.HealthChecks;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server;

/// <summary>
/// Readiness: the node can reach its transcript store and its catalog (one cheap lookup each). <c>/health/ready</c>
/// uses it, so a load balancer stops sending requests to a node whose storage is unreachable; <c>/health/live</c>
/// only says the process is up.
/// </summary>
internal sealed class StorageHealthCheck(ITranscriptStore store, ISessionCatalog catalog) : IHealthCheck
{
    private static readonly SessionKey Probe = new("health-probe", "health-probe");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.StatAsync("health-probe", Probe, cancellationToken).ConfigureAwait(false);
            await catalog.GetAsync("health-probe", Probe.ProjectKey, Probe.SessionId, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy();
        }
        catch (StorageUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy(ex.Message);
        }
    }
}
