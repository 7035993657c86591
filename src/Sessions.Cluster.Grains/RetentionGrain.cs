using Microsoft.Extensions.Logging;
using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Retention of one tenant (<see cref="IRetentionGrain"/>): an Orleans reminder ticks every
/// <see cref="RetentionOptions.SweepPeriod"/> and each tick sweeps the tenant through the session grains
/// (<see cref="SessionGrainExpiry"/>). The reminder lives in the cluster's reminder table (embedded: in memory,
/// registered again at every start), so a tenant is swept on schedule whichever silo is up.
/// </summary>
public sealed partial class RetentionGrain(RetentionService retention, ISessionExpiry sessions, ILogger<RetentionGrain> logger) : Grain, IRetentionGrain, IRemindable
{
    private const string ReminderPrefix = "retention-sweep";

    /// <inheritdoc />
    public async Task Start()
    {
        if (!retention.Options.Enabled)
        {
            return;
        }

        // The period is part of the name, so a changed SweepPeriod replaces the old reminder instead of being ignored.
        var period = retention.Options.SweepPeriod < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : retention.Options.SweepPeriod;
        var name = $"{ReminderPrefix}/{(long)period.TotalSeconds}s";
        var found = false;
        foreach (var reminder in await this.GetReminders())
        {
            if (reminder.ReminderName == name)
            {
                found = true;
            }
            else if (reminder.ReminderName.StartsWith(ReminderPrefix, StringComparison.Ordinal))
            {
                await this.UnregisterReminder(reminder);
            }
        }

        if (!found)
        {
            await this.RegisterOrUpdateReminder(name, retention.Options.SweepDueTime ?? period, period);
        }
    }

    /// <inheritdoc />
    public Task<SweepReport> Sweep() => retention.SweepTenantAsync(this.GetPrimaryKeyString(), sessions, CancellationToken.None);

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!reminderName.StartsWith(ReminderPrefix, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            var report = await Sweep();
            if (report.Expired + report.Purged > 0)
            {
                LogSwept(logger, this.GetPrimaryKeyString(), report.Expired, report.Purged, report.Skipped);
            }
        }
        catch (Exception ex)
        {
            // The next tick tries again; nothing a sweep does is lost by stopping half way.
            LogSweepFailed(logger, ex, this.GetPrimaryKeyString());
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Retention of tenant {Tenant}: {Expired} sessions moved to the trash, {Purged} purged, {Skipped} left (written, held or gone meanwhile)")]
    private static partial void LogSwept(ILogger logger, string tenant, int expired, int purged, int skipped);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Retention sweep of tenant {Tenant} failed; the next tick tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, string tenant);
}
