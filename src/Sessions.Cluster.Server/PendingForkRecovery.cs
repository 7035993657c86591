using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Server;

/// <summary>
/// At start, writes the copy-on-write forks a previous process accepted but did not get to write (it stopped or
/// crashed in between), so they show in listings again without waiting for a reader. Reads would write them on
/// demand anyway; a failure is logged and left to them.
/// </summary>
internal sealed partial class PendingForkRecovery(SessionService sessions, ILogger<PendingForkRecovery> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var tenant in sessions.ListTenantsAsync(stoppingToken).ConfigureAwait(false))
            {
                var written = await sessions.SettlePendingForksAsync(tenant, stoppingToken).ConfigureAwait(false);
                if (written > 0)
                {
                    LogRecovered(logger, written, tenant);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex);
        }
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Wrote {Count} pending forks of tenant {Tenant} left by an earlier process")]
    private static partial void LogRecovered(ILogger logger, int count, string tenant);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Writing pending forks at start failed; readers write them on demand")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
