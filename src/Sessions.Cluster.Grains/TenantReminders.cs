using System.Collections.Concurrent;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Makes sure each tenant's <see cref="IRetentionGrain"/> has its reminder, once per tenant per silo: at start for the
/// tenants the catalog knows, and when a session grain writes for a tenant this silo has not seen yet.
/// </summary>
public sealed class TenantReminders(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, Lazy<Task>> _started = new(StringComparer.Ordinal);

    /// <summary>Starts the tenant's retention grain unless this silo did already; a failure is retried on the next call.</summary>
    public Task EnsureAsync(string tenant)
    {
        var lazy = _started.GetOrAdd(tenant, t => new Lazy<Task>(() => grains.GetGrain<IRetentionGrain>(t).Start()));
        return AwaitAsync(tenant, lazy);
    }

    private async Task AwaitAsync(string tenant, Lazy<Task> lazy)
    {
        try
        {
            await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            _started.TryRemove(new KeyValuePair<string, Lazy<Task>>(tenant, lazy));
            throw;
        }
    }
}
