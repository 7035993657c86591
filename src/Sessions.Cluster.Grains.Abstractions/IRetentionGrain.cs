using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Retention of one tenant (key: the tenant): holds the tenant's cleanup reminder (one per tenant, not per session:
/// reminders are loaded into silo memory) and runs its sweeps (<see cref="RetentionService.SweepTenantAsync"/>).
/// Calls run one at a time, so a reminder tick that arrives during a sweep runs after it and finds nothing left.
/// </summary>
public interface IRetentionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers the tenant's cleanup reminder (period <c>Sessions:Retention:SweepPeriod</c>) unless it exists already;
    /// a no-op when retention is disabled. Safe to call from every silo at every start; it does not wait for a sweep
    /// that is running.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task Start();

    /// <summary>Sweeps the tenant now: expires what is past its period into the trash, purges what is past its grace.</summary>
    /// <returns>What the sweep did.</returns>
    [ResponseTimeout("01:00:00")]
    Task<SweepReport> Sweep();
}
