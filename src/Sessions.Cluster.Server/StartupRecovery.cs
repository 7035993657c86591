using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server;

/// <summary>Where embedded mode keeps its clean-stop marker (none in cluster mode).</summary>
/// <param name="CleanStopMarker">File written by a clean stop, beside the catalog.</param>
internal sealed record RecoveryOptions(string? CleanStopMarker);

/// <summary>
/// Puts right, in the background after a start, what a previous process may have left half done:
/// <list type="bullet">
/// <item>embedded mode only: a clean stop writes every row the write-behind catalog holds back and leaves a marker
/// beside the catalog; a start without the marker (the process died) reconciles catalog rows with the transcripts
/// (<see cref="SessionService.ReconcileAsync"/>), so no session drops out of listings until its next append;</item>
/// <item>every mode: forks whose seed is persisted but whose transcript a silo's death kept from being written are
/// asked to finish (<see cref="ISessionGrain.FinishFork"/>, for each fork the catalog notes unfinished, then its parent
/// told, <see cref="ISessionGrain.ForkWritten"/>), so they show in listings without waiting for their first use;</item>
/// <item>every mode: sessions whose transcript grew past the content index (an index write queued behind an append and
/// lost with its process) are indexed (<see cref="SessionService.CatchUpIndexAsync"/>);</item>
/// <item>every mode: each tenant's retention reminder is registered unless it exists (<see cref="TenantReminders"/>); the
/// embedded silo keeps reminders in memory, so this is what brings them back after a restart.</item>
/// </list>
/// Failures are logged; readers redo both on demand (and <c>POST /v1/admin/reindex</c> rebuilds every row).
/// </summary>
internal sealed partial class StartupRecovery(
    SessionService sessions, ISessionCatalog catalog, TenantReminders reminders, IGrainFactory grains, RecoveryOptions options, ILogger<StartupRecovery> logger)
    : BackgroundService
{
    private bool _reconcile;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Decided before the server takes requests: the marker only ever speaks of the previous run.
        if (options.CleanStopMarker is { } marker)
        {
            _reconcile = !File.Exists(marker);
            File.Delete(marker);
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (options.CleanStopMarker is { } marker)
        {
            await catalog.FlushAsync(cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(marker, $"stopped cleanly at {DateTimeOffset.UtcNow:O}\n", cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var tenant in sessions.ListTenantsAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await reminders.EnsureAsync(tenant).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The tenant's next write tries again; the other tenants' recovery goes on.
                    LogReminderFailed(logger, ex, tenant);
                }
                if (_reconcile && await sessions.ReconcileAsync(tenant, stoppingToken).ConfigureAwait(false) is > 0 and var refreshed)
                {
                    LogReconciled(logger, refreshed, tenant);
                }

                if (await sessions.CatchUpIndexAsync(tenant, stoppingToken).ConfigureAwait(false) is > 0 and var indexed)
                {
                    LogIndexed(logger, indexed, tenant);
                }
            }

            var forks = 0;
            await foreach (var tenant in sessions.ListTenantsAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var fork in await sessions.ListUnfinishedForksAsync(tenant, stoppingToken).ConfigureAwait(false))
                {
                    try
                    {
                        await grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, fork.ProjectKey, fork.ForkId)).FinishFork().ConfigureAwait(false);
                        await grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, fork.ProjectKey, fork.ParentSessionId)).ForkWritten(fork.ForkId).ConfigureAwait(false);
                        forks++;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Its first use tries again; the other forks go on.
                        LogForkFailed(logger, ex, $"{tenant}/{fork.ProjectKey}/{fork.ForkId}");
                    }
                }
            }

            if (forks > 0)
            {
                LogForksWritten(logger, forks);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Warning, Message = "The last stop was not clean: refreshed {Count} catalog rows of tenant {Tenant} from their transcripts")]
    private static partial void LogReconciled(ILogger logger, int count, string tenant);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Information, Message = "Indexed {Count} sessions of tenant {Tenant} whose content index was behind their transcript")]
    private static partial void LogIndexed(ILogger logger, int count, string tenant);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Finished {Count} forks the catalog noted unfinished")]
    private static partial void LogForksWritten(ILogger logger, int count);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Warning, Message = "The unfinished fork {Fork} could not be finished at start; its first use tries again")]
    private static partial void LogForkFailed(ILogger logger, Exception exception, string fork);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "The retention reminder of tenant {Tenant} could not be registered at start; its next write tries again")]
    private static partial void LogReminderFailed(ILogger logger, Exception exception, string tenant);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Recovery at start failed; readers redo it on demand, and a reindex (POST /v1/admin/reindex) rebuilds every row")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
