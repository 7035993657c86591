using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server;

/// <summary>
/// Embedded mode's guard for its write-behind catalog: a clean stop writes every held-back row and leaves a marker
/// file beside the catalog; a start without the marker (the process died) reconciles the catalog with the
/// transcripts in the background (<see cref="SessionService.ReconcileAsync"/>), so a session whose last rows were
/// lost is listed again without waiting for its next append or a reindex.
/// </summary>
internal sealed partial class CatalogRecovery(SessionService sessions, ISessionCatalog catalog, string markerPath, ILogger<CatalogRecovery> logger) : BackgroundService
{
    private bool _cleanStart;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Decided before the server takes requests: the marker only ever speaks of the previous run.
        _cleanStart = File.Exists(markerPath);
        File.Delete(markerPath);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await catalog.FlushAsync(cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(markerPath, $"stopped cleanly at {DateTimeOffset.UtcNow:O}\n", cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_cleanStart)
        {
            return;
        }

        try
        {
            await foreach (var tenant in sessions.ListTenantsAsync(stoppingToken).ConfigureAwait(false))
            {
                var refreshed = await sessions.ReconcileAsync(tenant, stoppingToken).ConfigureAwait(false);
                if (refreshed > 0)
                {
                    LogReconciled(logger, refreshed, tenant);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Warning, Message = "The last stop was not clean: refreshed {Count} catalog rows of tenant {Tenant} from their transcripts")]
    private static partial void LogReconciled(ILogger logger, int count, string tenant);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Reconciling the catalog after an unclean stop failed; a reindex (POST /v1/admin/reindex) redoes it")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
