using Orleans.Storage;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server;

/// <summary>
/// The part of a tenant's erasure that lives in grains: fork seeds (they hold the fork's title) and parents' notes of
/// unfinished forks in grain state, both transient (cleared once a fork is written), so the index lists few; and what
/// active session grains hold in memory (<see cref="ISessionGrain.Forget"/>). An erased tenant leaves none behind.
/// </summary>
public sealed class TenantGrainStates(IGrainStateIndex index, IServiceProvider services, IGrainFactory grains)
{
    /// <summary>
    /// Tells every active session grain of <paramref name="tenant"/>, on every silo, to drop what it holds and
    /// deactivate (found through Orleans' <c>IManagementGrain.GetActiveGrains</c>: no grain is activated for it).
    /// </summary>
    /// <returns>How many activations were told.</returns>
    public async Task<int> ForgetActiveSessionsAsync(string tenant, CancellationToken cancellationToken)
    {
        var type = grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, "p", "s")).GetGrainId().Type;
        var active = await grains.GetGrain<IManagementGrain>(0).GetActiveGrains(type, cancellationToken).ConfigureAwait(false);
        var ours = active.Where(id => SessionGrainKey.Parse(id.Key.ToString()!).Tenant == tenant).ToList();
        await Parallel.ForEachAsync(ours, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (id, _) => await grains.GetGrain<ISessionGrain>(id.Key.ToString()!).Forget().ConfigureAwait(false)).ConfigureAwait(false);
        return ours.Count;
    }

    /// <summary>Clears every session grain state of <paramref name="tenant"/>; returns how many were cleared.</summary>
    public async Task<int> EraseAsync(string tenant, CancellationToken cancellationToken)
    {
        var storage = GrainStorageHelpers.GetGrainStorage(typeof(SessionGrain), services);
        return await ClearAsync<ForkSeedState>(storage, ForkSeedState.StateName, tenant, cancellationToken).ConfigureAwait(false)
            + await ClearAsync<UnfinishedForksState>(storage, UnfinishedForksState.StateName, tenant, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> ClearAsync<T>(IGrainStorage storage, string stateName, string tenant, CancellationToken cancellationToken)
    {
        var cleared = 0;
        await foreach (var grain in index.ListAsync(stateName, cancellationToken).ConfigureAwait(false))
        {
            if (SessionGrainKey.Parse(grain.Key.ToString()!).Tenant != tenant)
            {
                continue;
            }

            var state = new GrainState<T>();
            await storage.ReadStateAsync(stateName, grain, state).ConfigureAwait(false);
            if (state.RecordExists)
            {
                await storage.ClearStateAsync(stateName, grain, state).ConfigureAwait(false);
                cleared++;
            }
        }

        return cleared;
    }
}
