using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Server;

/// <summary>
/// Runs <see cref="RetentionService.SweepAllAsync"/> every <see cref="RetentionOptions.SweepPeriod"/> on a
/// <see cref="PeriodicTimer"/> driven by the injected <see cref="TimeProvider"/>. Every node runs one; catalog claims
/// keep them from deleting the same session twice. Cancellation ends the loop; any other failure is logged and the
/// next tick tries again.
/// </summary>
internal sealed partial class RetentionSweeper(RetentionService retention, TimeProvider timeProvider, ILogger<RetentionSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(retention.Options.SweepPeriod, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var report = await retention.SweepAllAsync(stoppingToken).ConfigureAwait(false);
                    if (report.Deleted + report.Missing + report.Changed > 0)
                    {
                        LogSwept(logger, retention.NodeId, report.Deleted, report.Missing, report.Changed);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Retention sweep on {Node}: {Deleted} sessions deleted, {Missing} stale rows removed, {Changed} skipped as written after their claim")]
    private static partial void LogSwept(ILogger logger, string node, int deleted, int missing, int changed);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Retention sweep failed; the next period tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
