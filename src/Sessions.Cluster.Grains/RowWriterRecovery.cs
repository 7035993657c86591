using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Finds the catalog rows held back by silos that died (their notes, <see cref="IRowWriterMarks"/>) and has each
/// session's grain rebuild its row from the transcript (<see cref="ISessionGrain.RebuildRow"/>), every
/// <see cref="SessionGrainOptions.RowRecoveryPeriod"/>. One silo does it at a time: the active one with the lowest
/// address. A writer is dead when the membership says so or no longer lists it (its generation is gone).
/// </summary>
public sealed partial class RowWriterRecovery(ISessionCatalog catalog, IClusterMembershipService membership, ILocalSiloDetails localSilo, IGrainFactory grains, SessionGrainOptions options, ILogger<RowWriterRecovery> logger)
    : BackgroundService
{
    private const int Batch = 1000;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (catalog is not WriteBehindCatalog { MarksRows: true })
        {
            return;
        }

        using var timer = new PeriodicTimer(options.RowRecoveryPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await RecoverAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.Failed(logger, ex);
            }
        }
    }

    /// <summary>
    /// One pass, if this silo is the one to make it: rebuilds the rows noted by dead writers (up to 1,000 notes, oldest
    /// first; the next pass takes the rest).
    /// </summary>
    /// <returns>How many rows were rebuilt.</returns>
    /// <exception cref="Core.SessionsException">The catalog is unavailable.</exception>
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        if (catalog is not WriteBehindCatalog { MarksRows: true } writeBehind)
        {
            return 0;
        }

        var members = membership.CurrentSnapshot.Members.Values;
        var active = members.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).ToList();
        if (active.Count == 0 || !active.Min()!.Equals(localSilo.SiloAddress))
        {
            return 0;
        }

        var alive = members.Where(m => m.Status != SiloStatus.Dead).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        var dead = (await writeBehind.ListMarksAsync(Batch, cancellationToken).ConfigureAwait(false)).Where(m => !alive.Contains(m.Writer)).ToList();
        var rebuilt = 0;
        await Parallel.ForEachAsync(dead, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (mark, _) =>
        {
            try
            {
                await grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(mark.Tenant, mark.ProjectKey, mark.SessionId)).RebuildRow(mark.Writer).ConfigureAwait(false);
                Interlocked.Increment(ref rebuilt);
            }
            catch (SessionFault fault)
            {
                Log.NotRebuilt(logger, mark.Tenant, mark.ProjectKey, mark.SessionId, fault.Message);
            }
        }).ConfigureAwait(false);
        if (rebuilt > 0)
        {
            Log.Rebuilt(logger, rebuilt);
        }

        return rebuilt;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for catalog rows held back by dead silos failed; trying again next period.")]
        public static partial void Failed(ILogger logger, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "The row of session {Tenant}/{ProjectKey}/{SessionId}, held back by a dead silo, was not rebuilt: {Reason}. Trying again next period.")]
        public static partial void NotRebuilt(ILogger logger, string tenant, string projectKey, string sessionId, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "Rebuilt {Count} catalog rows held back by dead silos from their transcripts.")]
        public static partial void Rebuilt(ILogger logger, int count);
    }
}
