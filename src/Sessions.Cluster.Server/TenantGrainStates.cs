using Orleans.Storage;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server;

/// <summary>
/// The part of a tenant's erasure that lives in grain state: fork seeds (they hold the fork's title) and parents' notes
/// of unfinished forks. Both are transient (cleared once a fork is written), so the index lists few; an erased tenant
/// leaves none behind.
/// </summary>
public sealed class TenantGrainStates(IGrainStateIndex index, IServiceProvider services)
{
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
